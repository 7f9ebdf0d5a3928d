import { test, type Test } from 'tap'
import Type from 'typebox'
import { cookieSession, hex, messageAuthentication, type CookieSessionOptions, type SessionProvider, type SessionStorage } from '../lib/index.js'
import type { LightMyRequestResponse } from 'fastify'
import { buildApp, cookiesOf, fakeClock, KEY_HEX, RecordingStorage } from './helpers/app.js'

const key = hex(KEY_HEX)
const DAY = 86_400

type Options = Omit<CookieSessionOptions<{ user: string }>, 'serializer'>

/** An app with one LOGIN provider: /login sets it (?remember=<seconds> for set's maxAge), /read reads it. */
async function loginApp (t: Test, options: Options) {
  const login = cookieSession('LOGIN', Type.Object({ user: Type.String() }), options) as SessionProvider<{ user: string }>
  const app = await buildApp(t, [login])
  app.get('/login', async (request) => {
    const remember = (request.query as { remember?: string }).remember
    request.sessions.set(login, { user: 'alice' }, remember === undefined ? undefined : { maxAge: Number(remember) })
    return 'ok'
  })
  app.get('/bump', async (request) => {
    request.sessions.set(login, { user: 'bob' })
    return 'ok'
  })
  app.get('/read', async (request) => ({ s: request.sessions.get(login) }))
  return app
}

function maxAgeOf (res: LightMyRequestResponse): number {
  return res.cookies[0]?.maxAge ?? NaN
}

const modes: Array<[string, () => Options]> = [
  ['client-side', () => ({ transformers: [messageAuthentication({ key })] })],
  ['server-side', () => ({ storage: new RecordingStorage() })],
]

test('lowering maxAge at a redeploy shortens the sessions issued before it', async (t) => {
  for (const [mode, base] of modes) {
    const clock = fakeClock(t)
    const shared = base()
    const before = await loginApp(t, { ...shared, maxAge: 30 * DAY })
    const cookie = cookiesOf((await before.inject('/login')).headers['set-cookie'])
    const after = await loginApp(t, { ...shared, maxAge: DAY })
    clock.advance(DAY * 1000 - 1)
    t.same((await after.inject({ url: '/read', headers: { cookie } })).json(), { s: { user: 'alice' } }, `${mode}: within the new maxAge`)
    clock.advance(1)
    t.same((await after.inject({ url: '/read', headers: { cookie } })).json(), { s: null }, `${mode}: expired at created + the new maxAge`)
    t.same((await before.inject({ url: '/read', headers: { cookie } })).json(), { s: { user: 'alice' } }, `${mode}: (the old configuration would still accept it)`)
    clock.advance(-1)
    const bumped = await after.inject({ url: '/bump', headers: { cookie } })
    t.equal(maxAgeOf(bumped), 1, `${mode}: a later set's cookie has the new remaining lifetime`)
    clock.advance(1)
    t.same((await after.inject({ url: '/read', headers: { cookie: cookiesOf(bumped.headers['set-cookie']) } })).json(), { s: null }, `${mode}: and the rewritten session ends then too`)
  }
})

test('set(p, value, { maxAge }) gives one session its own lifetime, up to maxAgeLimit', async (t) => {
  for (const [mode, base] of modes) {
    const clock = fakeClock(t)
    const app = await loginApp(t, { ...base(), maxAge: DAY, maxAgeLimit: 30 * DAY })
    const remembered = await app.inject(`/login?remember=${30 * DAY}`)
    t.equal(maxAgeOf(remembered), 30 * DAY, `${mode}: the cookie's Max-Age follows the session's maxAge`)
    const plain = await app.inject('/login')
    t.equal(maxAgeOf(plain), DAY, `${mode}: without it, the provider's maxAge`)
    clock.advance(2 * DAY * 1000)
    t.same((await app.inject({ url: '/read', headers: { cookie: cookiesOf(remembered.headers['set-cookie']) } })).json(), { s: { user: 'alice' } }, `${mode}: remembered after two days`)
    t.same((await app.inject({ url: '/read', headers: { cookie: cookiesOf(plain.headers['set-cookie']) } })).json(), { s: null }, `${mode}: the other one is gone`)
    const later = await app.inject({ url: '/bump', headers: { cookie: cookiesOf(remembered.headers['set-cookie']) } })
    t.equal(maxAgeOf(later), 28 * DAY, `${mode}: a later set keeps the session's own expiry`)
    clock.advance(28 * DAY * 1000)
    t.same((await app.inject({ url: '/read', headers: { cookie: cookiesOf(remembered.headers['set-cookie']) } })).json(), { s: null }, `${mode}: and it ends at its own maxAge`)

    const tooLong = await app.inject(`/login?remember=${31 * DAY}`)
    t.equal(tooLong.statusCode, 500)
    t.equal(tooLong.json().code, 'FST_SESSIONS_INVALID_PAYLOAD', `${mode}: a maxAge above maxAgeLimit is refused at set`)
    t.match(tooLong.json().message, /maxAgeLimit/)
    for (const bad of ['0', '1.5', 'NaN']) {
      t.equal((await app.inject(`/login?remember=${bad}`)).json().code, 'FST_SESSIONS_INVALID_PAYLOAD', `${mode}: maxAge ${bad} is refused`)
    }
  }
})

test('a lowered maxAgeLimit also shortens sessions that were given a longer maxAge', async (t) => {
  for (const [mode, base] of modes) {
    const clock = fakeClock(t)
    const shared = base()
    const before = await loginApp(t, { ...shared, maxAge: DAY, maxAgeLimit: 30 * DAY })
    const cookie = cookiesOf((await before.inject(`/login?remember=${30 * DAY}`)).headers['set-cookie'])
    const after = await loginApp(t, { ...shared, maxAge: DAY, maxAgeLimit: 7 * DAY })
    clock.advance(7 * DAY * 1000)
    t.same((await after.inject({ url: '/read', headers: { cookie } })).json(), { s: null }, `${mode}: expired at created + the new limit`)
  }
})

test('the factory refuses a client-side session that never expires, and a limit below maxAge', async (t) => {
  const options: Array<[string, () => unknown]> = [
    ['client-side maxAge: null', () => cookieSession('S', Type.Object({}), { maxAge: null, transformers: [messageAuthentication({ key })] })],
    ['maxAgeLimit below maxAge', () => cookieSession('S', Type.Object({}), { maxAge: 3600, maxAgeLimit: 60, transformers: [messageAuthentication({ key })] })],
  ]
  for (const [label, make] of options) {
    t.throws(make, { code: 'FST_SESSIONS_OPTIONS' }, label)
  }
  const storage: SessionStorage = new RecordingStorage()
  t.doesNotThrow(() => cookieSession('S', Type.Object({}), { maxAge: null, envelope: false, transformers: [messageAuthentication({ key })] }), 'allowed without the envelope (Ktor compatibility)')
  t.doesNotThrow(() => cookieSession('S', Type.Object({}), { maxAge: null, storage }), 'allowed server-side, where logout revokes it')
})
