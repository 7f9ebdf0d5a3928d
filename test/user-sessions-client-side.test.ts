import { test, type Test } from 'tap'
import Type from 'typebox'
import { cookieSession, hex, memoryStorage, messageAuthentication, type InvalidReason, type SessionStorage } from '../lib/index.js'
import { buildApp, cookiesOf, fakeClock, KEY_HEX, RecordingStorage } from './helpers/app.js'

// Client-side sessions with `subject` and `revocations`: revokeAll records a not-before time, and
// values created before it read as absent (reason `revoked`).

const key = hex(KEY_HEX)
const Login = () => Type.Object({ user: Type.String() })

async function clientApp (t: Test, revocations: SessionStorage, reasons: InvalidReason[] = []) {
  const login = cookieSession('LOGIN', Login(), { transformers: [messageAuthentication({ key })], subject: (s) => s.user, revocations })
  const app = await buildApp(t, [login], { onInvalid: (reason) => { reasons.push(reason) } })
  app.post('/login', async (request) => { request.sessions.set(login, { user: (request.query as { user: string }).user }); return 'ok' })
  app.get('/who', async (request) => ({ user: request.sessions.get(login)?.user ?? null }))
  app.post('/revoke-all', async (request) => {
    await request.sessions.revokeAll(login, { exceptCurrent: (request.query as { except?: string }).except === '1' })
    return 'ok'
  })
  app.get('/list', async (request) => await request.sessions.list(login))
  const signIn = async (user: string) => cookiesOf((await app.inject({ method: 'POST', url: `/login?user=${user}` })).headers['set-cookie'])
  const who = async (cookie: string) => (await app.inject({ url: '/who', headers: { cookie } })).json().user
  return { app, login, signIn, who }
}

test('revokeAll with exceptCurrent: other values of the subject read as revoked, this one is issued again', async (t) => {
  const clock = fakeClock(t)
  const reasons: InvalidReason[] = []
  const { app, signIn, who } = await clientApp(t, memoryStorage(), reasons)
  const phone = await signIn('ann')
  const bob = await signIn('bob')
  clock.advance(1000)
  const laptop = await signIn('ann')
  clock.advance(1000)
  const res = await app.inject({ method: 'POST', url: '/revoke-all?except=1', headers: { cookie: laptop } })
  const reissued = cookiesOf(res.headers['set-cookie'])
  t.ok(reissued.startsWith('LOGIN='), 'the current value is issued again')
  t.equal(await who(reissued), 'ann', 'and reads')
  t.equal(await who(phone), null, 'the phone\'s value reads as absent')
  t.same(reasons, ['revoked'], 'with reason revoked')
  t.equal(await who(bob), 'bob', 'another subject is untouched')
  clock.advance(1000)
  t.equal(await who(await signIn('ann')), 'ann', 'a value created after the revocation reads')
})

test('p.revokeAll(subject) outside a request revokes every value of the subject, the current one included', async (t) => {
  const clock = fakeClock(t)
  const { app, login, signIn, who } = await clientApp(t, memoryStorage())
  const a = await signIn('ann')
  clock.advance(10)
  await login.revokeAll('ann')
  t.equal(await who(a), null)
  const b = await signIn('ann')
  clock.advance(10)
  const res = await app.inject({ method: 'POST', url: '/revoke-all', headers: { cookie: b } })
  t.match(String(res.headers['set-cookie']), /^LOGIN=;/, 'without exceptCurrent the current cookie is expired')
  t.equal(await who(b), null)
})

test('another process sees a revocation within the stated staleness (1 s), the revoking one at once', async (t) => {
  const clock = fakeClock(t)
  const shared = memoryStorage()
  const one = await clientApp(t, shared)
  const two = await clientApp(t, shared)
  const phone = await one.signIn('ann')
  clock.advance(10)
  t.equal(await two.who(phone), 'ann', 'process two has read the subject\'s revocation state (none)')
  await one.login.revokeAll('ann')
  t.equal(await one.who(phone), null, 'the revoking process knows at once')
  t.equal(await two.who(phone), 'ann', 'the other may accept it while its cache is fresh')
  clock.advance(1000)
  t.equal(await two.who(phone), null, 'and no longer after 1 s')
})

test('a revocations storage that fails makes the request fail with 503, never accept the value', async (t) => {
  const storage = new RecordingStorage()
  const { signIn, app } = await clientApp(t, storage)
  const cookie = await signIn('ann')
  storage.failing = true
  const res = await app.inject({ url: '/who', headers: { cookie } })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'FST_SESSIONS_STORAGE_UNAVAILABLE')
})

test('client-side sessions cannot be listed: an options error that says what to use', async (t) => {
  const { app, signIn } = await clientApp(t, memoryStorage())
  const res = await app.inject({ url: '/list', headers: { cookie: await signIn('ann') } })
  t.equal(res.json().code, 'FST_SESSIONS_OPTIONS')
  t.match(res.json().message, /client-side.*revokeAll/)
})

test('client-side subject options that cannot work are refused at registration', async (t) => {
  const transformers = [messageAuthentication({ key })]
  const noRevocations = cookieSession('A', Login(), { transformers, subject: (s) => s.user })
  await t.rejects(buildApp(t, [noRevocations]), { code: 'FST_SESSIONS_OPTIONS', message: /add a revocations storage/ })
  const noSubject = cookieSession('B', Login(), { transformers, revocations: memoryStorage() })
  await t.rejects(buildApp(t, [noSubject]), { code: 'FST_SESSIONS_OPTIONS', message: /revocations needs the subject option/ })
  const noEnvelope = cookieSession('C', Login(), { transformers, envelope: false, subject: (s) => s.user, revocations: memoryStorage() })
  await t.rejects(buildApp(t, [noEnvelope]), { code: 'FST_SESSIONS_OPTIONS', message: /keep envelope: true/ })
  const metadata = cookieSession('D', Login(), { transformers, metadata: true, subject: (s) => s.user, revocations: memoryStorage() })
  await t.rejects(buildApp(t, [metadata]), { code: 'FST_SESSIONS_OPTIONS', message: /no metadata/ })
})
