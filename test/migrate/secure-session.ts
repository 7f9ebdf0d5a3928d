import fastifySecureSession from '@fastify/secure-session'
import Fastify from 'fastify'
import { test } from 'tap'
import type { Test } from 'tap'
import Type from 'typebox'
import { cookieSession, fromSecureSession, memoryStorage, secretbox } from '../../lib/index.js'
import { hex } from '../../transformers/keys.js'
import { buildApp, cookiesOf, fakeClock, KEY_HEX, OTHER_KEY_HEX, parseSetCookie, setCookies } from '../helpers/app.js'

const OLD_KEY = hex(OTHER_KEY_HEX)
const NEW_KEY = hex(KEY_HEX)

/** A real @fastify/secure-session app that logs `user` in, as the service ran before the move. */
async function oldCookie (t: Test, data: Record<string, unknown>, key: Buffer = OLD_KEY): Promise<string> {
  const old = Fastify()
  t.teardown(() => old.close())
  await old.register(fastifySecureSession, { key, cookie: { path: '/' } })
  old.post('/login', async (request) => {
    for (const [name, value] of Object.entries(data)) request.session.set(name as never, value as never)
    return 'ok'
  })
  const res = await old.inject({ method: 'POST', url: '/login' })
  const line = setCookies(res.headers['set-cookie']).find((l) => l.startsWith('session='))
  t.ok(line, 'the old plugin set its cookie')
  return (line as string).split(';')[0] as string
}

const User = Type.Object({ user: Type.String() })

async function newApp (t: Test, options: { map?: (data: Record<string, unknown>) => { user: string } | null, server?: boolean, expiry?: number } = {}) {
  const migration = fromSecureSession({
    key: [NEW_KEY, OLD_KEY],
    ...(options.expiry === undefined ? {} : { expiry: options.expiry }),
    map: options.map ?? ((data) => typeof data['user'] === 'string' ? { user: data['user'] } : null),
  })
  const login = options.server === true
    ? cookieSession('app_session', User, { storage: memoryStorage(), migrate: [migration] })
    : cookieSession('app_session', User, { transformers: [secretbox({ key: NEW_KEY })], migrate: [migration] })
  const app = await buildApp(t, [login])
  app.get('/', async (request) => ({ user: request.sessions.get(login)?.user ?? null }))
  app.post('/logout', async (request) => { request.sessions.clear(login); return 'bye' })
  return app
}

function oldExpired (lines: string[]): boolean {
  return lines.some((l) => l.startsWith('session=;') && /Max-Age=0/.test(l) && /Path=\//.test(l))
}

for (const server of [false, true]) {
  test(`an @fastify/secure-session cookie moves into a ${server ? 'server' : 'client'}-side provider: set in our format, the old cookie expired`, async (t) => {
    const cookie = await oldCookie(t, { user: 'ada', theme: 'dark' })
    const app = await newApp(t, { server })
    const first = await app.inject({ url: '/', headers: { cookie } })
    t.equal(first.statusCode, 200)
    t.same(first.json(), { user: 'ada' }, 'the handler sees the mapped session')
    const lines = setCookies(first.headers['set-cookie'])
    t.ok(oldExpired(lines), 'the old cookie is expired')
    const ours = lines.find((l) => l.startsWith('app_session='))
    t.ok(ours, 'our cookie is set')
    t.equal(parseSetCookie(ours as string)['httponly'], '')
    // The browser now holds only our cookie.
    const next = await app.inject({ url: '/', headers: { cookie: cookiesOf(ours) } })
    t.same(next.json(), { user: 'ada' })
    t.same(setCookies(next.headers['set-cookie']).filter((l) => l.startsWith('session=')), [], 'nothing more to expire')
  })
}

test('a request that carries our session is not migrated, whatever old cookie it has', async (t) => {
  const app = await newApp(t)
  const moved = await app.inject({ url: '/', headers: { cookie: await oldCookie(t, { user: 'ada' }) } })
  const ours = cookiesOf(setCookies(moved.headers['set-cookie']).filter((l) => l.startsWith('app_session=')))
  const other = await oldCookie(t, { user: 'mallory' })
  const res = await app.inject({ url: '/', headers: { cookie: `${ours}; ${other}` } })
  t.same(res.json(), { user: 'ada' })
  t.same(setCookies(res.headers['set-cookie']), [], 'no cookie written, none expired')
})

test('garbage, tampered, foreign-key and malformed old cookies read as absent, never a 500', async (t) => {
  const app = await newApp(t)
  const good = await oldCookie(t, { user: 'ada' })
  const value = good.slice('session='.length)
  const foreign = await oldCookie(t, { user: 'ada' }, Buffer.alloc(32, 7))
  const flipped = value.replace(/^(.)/, (c) => c === 'A' ? 'B' : 'A')
  const bad = [
    'session=garbage', 'session=%E0%A4%A', 'session=' + value.split('%3B')[0], 'session=;;', 'session=%3B',
    'session=' + flipped, foreign, 'session=' + value + 'AA', 'session=' + encodeURIComponent('{"user":"ada"}'),
  ]
  for (const cookie of bad) {
    const res = await app.inject({ url: '/', headers: { cookie } })
    t.equal(res.statusCode, 200, cookie)
    t.same(res.json(), { user: null }, `${cookie} reads as absent`)
    t.notOk(oldExpired(setCookies(res.headers['set-cookie'])), 'an unread cookie is left alone')
  }
})

test("the old library's own expiry is honoured (its expiry option, counted from its last write)", async (t) => {
  const clock = fakeClock(t)
  const cookie = await oldCookie(t, { user: 'ada' })
  const app = await newApp(t, { expiry: 3600 })
  clock.advance(3599_000)
  t.same((await app.inject({ url: '/', headers: { cookie } })).json(), { user: 'ada' }, 'a second before its expiry it moves')
  clock.advance(1000)
  t.same((await app.inject({ url: '/', headers: { cookie } })).json(), { user: null }, 'at its expiry it reads as absent')
  const defaults = await newApp(t)
  clock.advance(86401_000 - 3600_000 - 1000)
  t.same((await defaults.inject({ url: '/', headers: { cookie } })).json(), { user: 'ada' }, 'within the default 86401 s')
  clock.advance(1000)
  t.same((await defaults.inject({ url: '/', headers: { cookie } })).json(), { user: null }, 'past the default 86401 s')
})

test('map returning null means do not migrate: nothing set, the old cookie kept', async (t) => {
  const app = await newApp(t, { map: () => null })
  const res = await app.inject({ url: '/', headers: { cookie: await oldCookie(t, { user: 'ada' }) } })
  t.same(res.json(), { user: null })
  t.same(setCookies(res.headers['set-cookie']), [])
})

test('a mapped payload that fails the schema, or a map that throws, is not migrated and never a 500', async (t) => {
  const cookie = await oldCookie(t, { user: 42 })
  const wrong = await newApp(t, { map: (data) => ({ user: data['user'] as string }) })
  const res = await wrong.inject({ url: '/', headers: { cookie } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { user: null })
  const throwing = await newApp(t, { map: () => { throw new Error('bug') } })
  const again = await throwing.inject({ url: '/', headers: { cookie } })
  t.equal(again.statusCode, 200)
  t.same(again.json(), { user: null })
})

test('logging out on the migrated request still expires the old cookie', async (t) => {
  const app = await newApp(t)
  const res = await app.inject({ method: 'POST', url: '/logout', headers: { cookie: await oldCookie(t, { user: 'ada' }) } })
  t.equal(res.statusCode, 200)
  const lines = setCookies(res.headers['set-cookie'])
  t.ok(oldExpired(lines), 'the old cookie is expired')
  t.notOk(lines.some((l) => l.startsWith('app_session=') && !/Max-Age=0/.test(l)), 'no session of ours is sent')
})

test('requests without an old cookie are untouched', async (t) => {
  const app = await newApp(t)
  for (const headers of [{}, { cookie: 'other=1; sessionx=2' }]) {
    const res = await app.inject({ url: '/', headers })
    t.same(res.json(), { user: null })
    t.same(setCookies(res.headers['set-cookie']), [])
  }
})

test('bad migrate options are refused at the factory', async (t) => {
  const map = (): null => null
  t.throws(() => fromSecureSession({ key: Buffer.alloc(16), map }), { code: 'FST_SESSIONS_OPTIONS', message: /32 bytes/ })
  t.throws(() => fromSecureSession({ key: NEW_KEY } as never), { code: 'FST_SESSIONS_OPTIONS', message: /map/ })
  t.throws(() => fromSecureSession({ key: NEW_KEY, map, cookieName: 'bad name' }), { code: 'FST_SESSIONS_OPTIONS', message: /cookieName/ })
  t.throws(() => fromSecureSession({ key: NEW_KEY, map, expiry: 0 }), { code: 'FST_SESSIONS_OPTIONS', message: /expiry/ })
  t.throws(() => fromSecureSession({ key: NEW_KEY, map, secret: 'the old secret' } as never), { code: 'FST_SESSIONS_OPTIONS', message: /unknown option "secret"/ })
  t.throws(() => fromSecureSession({ key: NEW_KEY, map, cookie: { path: '/; Domain=evil' } }), { code: 'FST_SESSIONS_OPTIONS', message: /attribute/ })
  t.throws(() => cookieSession('session', User, { migrate: [fromSecureSession({ key: NEW_KEY, map })], transformers: [secretbox({ key: NEW_KEY })] }),
    { code: 'FST_SESSIONS_OPTIONS', message: /another name/ })
  t.throws(() => cookieSession('s', User, { migrate: [{ cookieName: 'x' } as never] }), { code: 'FST_SESSIONS_OPTIONS' })
})
