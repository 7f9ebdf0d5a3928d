import { test } from 'tap'
import Type from 'typebox'
import { cookieSession, memoryStorage, type SessionStorage } from '../lib/index.js'
import { buildApp, cookiesOf, fakeClock, RecordingStorage } from './helpers/app.js'
import { devicesApp } from './helpers/devices.js'

// A user's sessions (issue 16) over memoryStorage; the other storages run the same checks in
// user-sessions-storages.test.ts and the Redis Cluster / Sentinel files.

test('list gives each session of the current subject, and only its own', async (t) => {
  const clock = fakeClock(t)
  const { signIn, list } = await devicesApp(t, memoryStorage())
  const phone = await signIn('ann')
  clock.advance(1000)
  const laptop = await signIn('ann')
  await signIn('bob')
  const fromLaptop = await list(laptop)
  t.equal(fromLaptop.length, 2, 'both of ann\'s sessions, none of bob\'s')
  t.same(fromLaptop.map((s) => s.current), [true, false], 'the most recently seen first, marked current')
  t.equal(fromLaptop[0]?.createdAt, clock.now)
  t.equal(fromLaptop[1]?.createdAt, clock.now - 1000)
  t.equal(fromLaptop[0]?.expiresAt, clock.now + 7 * 24 * 3600 * 1000, 'the default absolute lifetime')
  const fromPhone = await list(phone)
  t.same(fromPhone.map((s) => s.current), [false, true])
  t.same(new Set(fromPhone.map((s) => s.handle)), new Set(fromLaptop.map((s) => s.handle)), 'handles are stable')
})

test('a handle is opaque: it is no session id, and reveals none', async (t) => {
  const { app, signIn, list, who } = await devicesApp(t, memoryStorage())
  const cookie = await signIn('ann')
  const id = decodeURIComponent(cookie.split('=')[1] as string)
  const [mine] = await list(cookie)
  t.ok(mine)
  t.not(mine?.handle, id)
  t.notOk(mine!.handle.includes(id.slice(0, 8)), 'no part of the id')
  t.equal(await who(`LOGIN=${encodeURIComponent(mine!.handle)}`), null, 'sent as a cookie, a handle reads as no session')
  t.equal(Object.keys(mine!).sort().join(), 'createdAt,current,expiresAt,handle,lastSeenAt', 'no user agent or ip without the metadata option')
  t.ok(app)
})

test('revoke ends one session of the subject; another subject\'s handle ends nothing', async (t) => {
  const { app, signIn, list, who } = await devicesApp(t, memoryStorage())
  const phone = await signIn('ann')
  const laptop = await signIn('ann')
  const bob = await signIn('bob')
  const bobHandle = (await list(bob))[0]!.handle
  const refused = await app.inject({ method: 'POST', url: '/revoke', headers: { cookie: laptop }, payload: { handle: bobHandle } })
  t.same(refused.json(), { revoked: false }, 'ann cannot revoke bob\'s session with its handle')
  t.equal(await who(bob), 'bob')
  const phoneHandle = (await list(phone)).find((s) => s.current)!.handle
  const res = await app.inject({ method: 'POST', url: '/revoke', headers: { cookie: laptop }, payload: { handle: phoneHandle } })
  t.same(res.json(), { revoked: true })
  t.equal(await who(phone), null, 'the phone is logged out')
  t.equal(await who(laptop), 'ann', 'the laptop is not')
  t.same((await list(laptop)).map((s) => s.current), [true], 'and the list says so')
  const again = await app.inject({ method: 'POST', url: '/revoke', headers: { cookie: laptop }, payload: { handle: phoneHandle } })
  t.same(again.json(), { revoked: false }, 'a handle of an ended session ends nothing')
})

test('revoking the current session by its handle logs this client out too', async (t) => {
  const { app, signIn, list, who } = await devicesApp(t, memoryStorage())
  const cookie = await signIn('ann')
  const handle = (await list(cookie))[0]!.handle
  const res = await app.inject({ method: 'POST', url: '/revoke', headers: { cookie }, payload: { handle } })
  t.match(String(res.headers['set-cookie']), /LOGIN=;.*Max-Age=0|LOGIN=;.*Expires=Thu, 01 Jan 1970/, 'the cookie is expired')
  t.equal(await who(cookie), null)
})

test('revokeAll with exceptCurrent logs out every other device of the subject, and no one else', async (t) => {
  const { app, signIn, list, who } = await devicesApp(t, memoryStorage())
  const devices = [await signIn('ann'), await signIn('ann'), await signIn('ann')]
  const bob = await signIn('bob')
  const res = await app.inject({ method: 'POST', url: '/revoke-all?except=1', headers: { cookie: devices[0]! } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['set-cookie'], undefined, 'the current session is kept as it is')
  t.equal(await who(devices[0]!), 'ann')
  t.equal(await who(devices[1]!), null)
  t.equal(await who(devices[2]!), null)
  t.equal(await who(bob), 'bob')
  t.equal((await list(devices[0]!)).length, 1)
})

test('revokeAll without exceptCurrent logs the current device out as well', async (t) => {
  const { app, signIn, who } = await devicesApp(t, memoryStorage())
  const a = await signIn('ann')
  const b = await signIn('ann')
  const res = await app.inject({ method: 'POST', url: '/revoke-all', headers: { cookie: a } })
  t.match(String(res.headers['set-cookie']), /^LOGIN=;/, 'the current cookie is expired')
  t.equal(await who(a), null)
  t.equal(await who(b), null)
})

test('p.sessionsOf and p.revokeAll work outside any request (an admin page, a password reset)', async (t) => {
  const { login, signIn, who } = await devicesApp(t, memoryStorage())
  const a = await signIn('ann')
  const b = await signIn('ann')
  const bob = await signIn('bob')
  const listed = await login.sessionsOf('ann')
  t.equal(listed.length, 2)
  t.same(listed.map((s) => s.current), [false, false], 'no session is current outside a request')
  t.same(await login.sessionsOf('nobody'), [])
  await login.revokeAll('ann')
  t.equal(await who(a), null)
  t.equal(await who(b), null)
  t.equal(await who(bob), 'bob')
  t.same(await login.sessionsOf('ann'), [])
})

test('lastSeenAt follows the idle refresh, not every request; expiresAt is the idle deadline', async (t) => {
  const clock = fakeClock(t)
  const { signIn, list, who } = await devicesApp(t, memoryStorage(), { idleTimeout: 100 })
  const created = clock.now
  const cookie = await signIn('ann')
  clock.advance(5000)
  await who(cookie)
  let [s] = await list(cookie)
  t.equal(s?.lastSeenAt, created, 'a request within a tenth of the idle window writes nothing')
  t.equal(s?.expiresAt, created + 100_000)
  clock.advance(10_000)
  await who(cookie)
  ;[s] = await list(cookie)
  t.equal(s?.lastSeenAt, created + 15_000, 'the idle refresh moved it')
  t.equal(s?.expiresAt, created + 15_000 + 100_000)
  t.equal(s?.createdAt, created)
})

test('metadata: user agent and ip only when the provider asks for them', async (t) => {
  const { signIn, list } = await devicesApp(t, memoryStorage(), { metadata: { userAgent: true, ip: true } })
  const cookie = await signIn('ann', { 'user-agent': 'Firefox on a phone' })
  const [s] = await list(cookie)
  t.equal(s?.userAgent, 'Firefox on a phone')
  t.equal(s?.ip, '127.0.0.1')
  const only = await devicesApp(t, memoryStorage(), { metadata: { userAgent: true } })
  const [u] = await only.list(await only.signIn('ann', { 'user-agent': 'curl' }))
  t.equal(u?.userAgent, 'curl')
  t.equal(u?.ip, undefined)
})

test('logout, regenerate and a change of subject keep the index true', async (t) => {
  const storage = memoryStorage()
  const { app, login, signIn, list } = await devicesApp(t, storage)
  const a = await signIn('ann')
  const b = await signIn('ann')
  await app.inject({ method: 'POST', url: '/logout', headers: { cookie: b } })
  t.equal((await login.sessionsOf('ann')).length, 1, 'a logged-out session is no longer listed')
  t.equal(storage.subjectIndexSize, 1, 'and its entry is gone from the index')
  const res = await app.inject({ method: 'POST', url: '/regenerate', headers: { cookie: a } })
  const a2 = cookiesOf(res.headers['set-cookie'])
  t.not(a2, a)
  const listed = await list(a2)
  t.equal(listed.length, 1, 'the regenerated session, once')
  t.equal(listed[0]?.current, true)
  t.equal(storage.subjectIndexSize, 1, 'the old id left the index')
  const bob = login
  const relog = await app.inject({ method: 'POST', url: '/login?user=bob', headers: { cookie: a2 } })
  t.equal(relog.statusCode, 200)
  t.same(await bob.sessionsOf('ann'), [], 'the session became bob\'s: ann no longer has it')
  t.equal((await bob.sessionsOf('bob')).length, 1)
})

test('the index never grows without bound: entries expire with their sessions', async (t) => {
  const clock = fakeClock(t)
  const storage = memoryStorage()
  const { signIn, login } = await devicesApp(t, storage, { maxAge: 60 })
  for (let i = 0; i < 200; i++) {
    await signIn('ann')
    clock.advance(1000)
  }
  t.ok(storage.subjectIndexSize <= 60, `at most the sessions still live are indexed (${storage.subjectIndexSize})`)
  t.equal((await login.sessionsOf('ann')).length, 59, 'and listed: those of the last minute')
  clock.advance(61_000)
  t.same(await login.sessionsOf('ann'), [])
  t.equal(storage.subjectIndexSize, 0, 'an index of expired sessions is dropped when read')
})

test('a session without a subject is not indexed, and lists nothing', async (t) => {
  const storage = memoryStorage()
  const login = cookieSession('LOGIN', Type.Object({ user: Type.Union([Type.String(), Type.Null()]) }), { storage, subject: (s) => s.user })
  const app = await buildApp(t, [login])
  app.post('/guest', async (request) => { request.sessions.set(login, { user: null }); return 'ok' })
  app.get('/list', async (request) => await request.sessions.list(login))
  const res = await app.inject({ method: 'POST', url: '/guest' })
  t.same((await app.inject({ url: '/list', headers: { cookie: cookiesOf(res.headers['set-cookie']) } })).json(), [])
  t.equal(storage.subjectIndexSize, 0)
})

test('a subject() that throws leaves the session unindexed, never fails the request', async (t) => {
  const storage = memoryStorage()
  const login = cookieSession('LOGIN', Type.Object({ user: Type.String() }), { storage, subject: () => { throw new Error('oops') } })
  const app = await buildApp(t, [login])
  app.post('/login', async (request) => { request.sessions.set(login, { user: 'ann' }); return 'ok' })
  const res = await app.inject({ method: 'POST', url: '/login' })
  t.equal(res.statusCode, 200)
  t.equal(storage.subjectIndexSize, 0)
})

test('a provider with subject over a storage without the index is refused at registration, saying why', async (t) => {
  const login = cookieSession('LOGIN', Type.Object({ user: Type.String() }), { storage: new RecordingStorage() as SessionStorage, subject: (s) => s.user })
  await t.rejects(buildApp(t, [login]), { code: 'FST_SESSIONS_OPTIONS', message: /keeps no subject index.*memoryStorage/ })
  const meta = cookieSession('META', Type.Object({ user: Type.String() }), { storage: memoryStorage(), metadata: true })
  await t.rejects(buildApp(t, [meta]), { code: 'FST_SESSIONS_OPTIONS', message: /add the subject option/ })
})

test('list on a provider without subject is an options error naming it', async (t) => {
  const plain = cookieSession('PLAIN', Type.Object({ user: Type.String() }), { storage: memoryStorage() })
  const app = await buildApp(t, [plain])
  app.get('/list', async (request) => await request.sessions.list(plain))
  const res = await app.inject('/list')
  t.equal(res.statusCode, 500)
  t.equal(res.json().code, 'FST_SESSIONS_OPTIONS')
  await t.rejects(plain.sessionsOf('ann'), { code: 'FST_SESSIONS_OPTIONS' })
})

test('a handle of any shape a client sends ends nothing and fails nothing', async (t) => {
  const { app, signIn, who } = await devicesApp(t, memoryStorage())
  const cookie = await signIn('ann')
  for (const handle of ['', 'x'.repeat(10_000), 42, null, ['a'], { key: 'v' }, '../../etc/passwd', '\u0000']) {
    const res = await app.inject({ method: 'POST', url: '/revoke', headers: { cookie }, payload: { handle } })
    t.equal(res.statusCode, 200, `handle ${JSON.stringify(handle)?.slice(0, 20)}`)
    t.same(res.json(), { revoked: false })
  }
  t.equal(await who(cookie), 'ann')
})

test('a session whose index entry cannot be written is not stored either: 503, no cookie', async (t) => {
  const inner = memoryStorage()
  let failing = false
  const storage: SessionStorage = {
    read: (key) => inner.read(key),
    write: (key, value, expiresAt) => inner.write(key, value, expiresAt),
    invalidate: (key) => inner.invalidate(key),
    compareAndWrite: (key, expected, value, expiresAt) => inner.compareAndWrite(key, expected, value, expiresAt),
    subjectEntries: (subject) => inner.subjectEntries(subject),
    unindexSubject: (subject, keys) => inner.unindexSubject(subject, keys),
    async indexSubject (subject, key, value, expiresAt) {
      if (failing) throw new Error('index down')
      await inner.indexSubject(subject, key, value, expiresAt)
    },
    close: () => inner.close(),
  }
  const { app } = await devicesApp(t, storage)
  failing = true
  const res = await app.inject({ method: 'POST', url: '/login?user=ann' })
  t.equal(res.statusCode, 503)
  t.equal(res.headers['set-cookie'], undefined, 'no session cookie')
  t.equal(inner.size, 0, 'and no record: "log out everywhere" can never miss a stored session')
})
