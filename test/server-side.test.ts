import { createHash } from 'node:crypto'
import { test } from 'tap'
import Type from 'typebox'
import { cookieSession, headerSession, hex, messageAuthentication, type CookieSessionOptions } from '../lib/index.js'
import type { LightMyRequestResponse } from 'fastify'
import { buildApp, cookiesOf, fakeClock, KEY_HEX, RecordingStorage } from './helpers/app.js'

const schema = () => Type.Object({ username: Type.String(), count: Type.Integer() })

async function serverApp (t: Parameters<typeof buildApp>[0], storage: RecordingStorage, options: Omit<CookieSessionOptions, 'serializer' | 'storage'> = {}, onInvalid?: (reason: string) => void) {
  const login = cookieSession('LOGIN', schema(), { storage, ...options })
  const app = await buildApp(t, [login], onInvalid === undefined ? {} : { onInvalid })
  app.get('/login', async (request) => {
    const name = (request.query as { name?: string }).name ?? 'john'
    request.sessions.set(login, { username: name, count: 0 })
    request.sessions.regenerate(login)
    return 'ok'
  })
  app.get('/bump', async (request) => {
    const s = request.sessions.get(login)
    if (s === null) return { s: null }
    request.sessions.set(login, { ...s, count: s.count + 1 })
    return { s }
  })
  app.get('/read', async (request) => ({ s: request.sessions.get(login) }))
  app.get('/regenerate', async (request) => { request.sessions.regenerate(login); return 'ok' })
  app.get('/logout', async (request) => { request.sessions.clear(login); return 'ok' })
  return { app, login }
}

function idOf (res: LightMyRequestResponse): string {
  return res.cookies[0]?.value ?? ''
}

test('only an id travels; the payload lives in the storage under a hash, never the id', async (t) => {
  const storage = new RecordingStorage()
  const { app } = await serverApp(t, storage)
  const res = await app.inject('/login')
  const id = idOf(res)
  t.match(id, /^[A-Za-z0-9_-]{43}$/, '256 bits, base64url')
  t.notMatch(String(res.headers['set-cookie']), /john/)
  t.equal(storage.entries.size, 1)
  const [key, entry] = [...storage.entries][0]!
  t.equal(key, createHash('sha256').update('LOGIN\0' + id).digest('base64url'))
  t.notOk(key.includes(id))
  t.notOk(entry.value.includes(id))
  t.match(entry.value, /"username":"john"/)
  t.same((await app.inject({ url: '/read', headers: { cookie: 'LOGIN=' + id } })).json(), { s: { username: 'john', count: 0 } })
})

test('ids are unique and long', async (t) => {
  const storage = new RecordingStorage()
  const { app } = await serverApp(t, storage)
  const ids = new Set<string>()
  for (let i = 0; i < 200; i++) ids.add(idOf(await app.inject('/login')))
  t.equal(ids.size, 200)
  for (const id of ids) t.equal(Buffer.from(id, 'base64url').length, 32)
})

test('an id the storage does not know is never adopted: set issues a fresh one', async (t) => {
  const storage = new RecordingStorage()
  const { app, login } = await serverApp(t, storage)
  app.get('/set', async (request) => { request.sessions.set(login, { username: 'victim', count: 0 }); return 'ok' })
  const planted = 'A'.repeat(43)
  const res = await app.inject({ url: '/set', headers: { cookie: 'LOGIN=' + planted } })
  t.not(idOf(res), planted)
  t.same((await app.inject({ url: '/read', headers: { cookie: 'LOGIN=' + planted } })).json(), { s: null })
})

test('an id that is not of the identity\'s form never reaches the storage', async (t) => {
  const storage = new RecordingStorage()
  const reasons: string[] = []
  const { app } = await serverApp(t, storage, {}, (reason) => reasons.push(reason))
  for (const bad of ['../../etc/passwd', 'short', 'A'.repeat(44), 'A'.repeat(42) + '%00', '%2F'.repeat(20), 'x'.repeat(5000)]) {
    const res = await app.inject({ url: '/read', headers: { cookie: 'LOGIN=' + bad } })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { s: null })
  }
  t.equal(storage.calls.length, 0)
  t.ok(reasons.length === 6 && reasons.every((r) => r === 'malformed'))
})

test('a request without the session cookie never calls the storage', async (t) => {
  const storage = new RecordingStorage()
  const { app } = await serverApp(t, storage)
  await app.inject('/read')
  await app.inject({ url: '/read', headers: { cookie: 'OTHER=1' } })
  t.equal(storage.calls.length, 0)
})

test('a request that only reads makes no storage write', async (t) => {
  const storage = new RecordingStorage()
  const { app } = await serverApp(t, storage)
  const cookie = cookiesOf((await app.inject('/login')).headers['set-cookie'])
  const writes = storage.count('write')
  const res = await app.inject({ url: '/read', headers: { cookie } })
  t.equal(res.headers['set-cookie'], undefined)
  t.equal(storage.count('write'), writes)
  t.equal(storage.count('read'), 1)
})

test('regenerate moves the payload to a new id and kills the old one in the same request', async (t) => {
  const clock = fakeClock(t)
  const storage = new RecordingStorage()
  const { app } = await serverApp(t, storage, { maxAge: 1000 })
  const oldId = idOf(await app.inject('/login'))
  clock.advance(100_000)
  const res = await app.inject({ url: '/regenerate', headers: { cookie: 'LOGIN=' + oldId } })
  const newId = idOf(res)
  t.not(newId, oldId)
  t.equal(storage.entries.size, 1, 'the old entry is gone')
  t.same((await app.inject({ url: '/read', headers: { cookie: 'LOGIN=' + oldId } })).json(), { s: null })
  t.same((await app.inject({ url: '/read', headers: { cookie: 'LOGIN=' + newId } })).json(), { s: { username: 'john', count: 0 } })
  t.equal(res.cookies[0]?.maxAge, 900, 'the absolute lifetime is kept')
  t.equal([...storage.entries.values()][0]?.expiresAt, 1_700_000_000_000 + 1000_000)
})

test('clear invalidates the stored entry: replaying the old cookie finds nothing', async (t) => {
  const storage = new RecordingStorage()
  const { app } = await serverApp(t, storage)
  const cookie = cookiesOf((await app.inject('/login')).headers['set-cookie'])
  const res = await app.inject({ url: '/logout', headers: { cookie } })
  t.match(String(res.headers['set-cookie']), /^LOGIN=; Max-Age=0/)
  t.equal(storage.entries.size, 0)
  t.same((await app.inject({ url: '/read', headers: { cookie } })).json(), { s: null })
})

test('a copied-and-set value keeps its id while the count grows', async (t) => {
  const storage = new RecordingStorage()
  const { app } = await serverApp(t, storage)
  const cookie = cookiesOf((await app.inject('/login')).headers['set-cookie'])
  for (let i = 0; i < 3; i++) {
    const res = await app.inject({ url: '/bump', headers: { cookie } })
    t.equal(res.json().s.count, i)
    t.equal(cookiesOf(res.headers['set-cookie']), cookie)
  }
  t.equal(storage.entries.size, 1)
})

test('maxAge is enforced from the stored record, not from the cookie', async (t) => {
  const clock = fakeClock(t)
  const storage = new RecordingStorage()
  const reasons: string[] = []
  const { app } = await serverApp(t, storage, { maxAge: 60 }, (r) => reasons.push(r))
  const cookie = cookiesOf((await app.inject('/login')).headers['set-cookie'])
  const entry = [...storage.entries.values()][0]!
  t.equal(entry.expiresAt, clock.now + 60_000, 'write gets the absolute expiry')
  entry.expiresAt = null // a storage that forgot the expiry: the record still says no
  clock.advance(60_000)
  t.same((await app.inject({ url: '/read', headers: { cookie } })).json(), { s: null })
  t.same(reasons, ['expired'])
})

test('idle sessions expire; a read refreshes with touch at most once per tenth of the window, never rewriting', async (t) => {
  const clock = fakeClock(t)
  const storage = new RecordingStorage()
  const { app } = await serverApp(t, storage, { idleTimeout: 100, maxAge: null })
  const cookie = cookiesOf((await app.inject('/login')).headers['set-cookie'])
  const entry = [...storage.entries.values()][0]!
  t.equal(entry.expiresAt, clock.now + 100_000, 'the storage expiry is the idle deadline')
  const writes = storage.count('write')

  clock.advance(5_000)
  await app.inject({ url: '/read', headers: { cookie } })
  t.equal(storage.count('touch'), 0, 'no refresh in the first tenth')
  clock.advance(6_000)
  const refreshed = await app.inject({ url: '/read', headers: { cookie } })
  t.equal(storage.count('touch'), 1)
  t.equal(refreshed.headers['set-cookie'], undefined, 'a refresh sends no cookie')
  await app.inject({ url: '/read', headers: { cookie } })
  await app.inject({ url: '/read', headers: { cookie } })
  t.equal(storage.count('touch'), 1, 'not again within the tenth')
  t.equal(storage.count('write'), writes, 'touch never rewrites the payload')
  t.equal(entry.expiresAt, clock.now + 100_000, 'moved to now + idle')

  clock.advance(100_000)
  t.same((await app.inject({ url: '/read', headers: { cookie } })).json(), { s: null }, 'idle for the whole window')
})

test('without touch, an idle refresh rewrites the same record and idle expiry is judged from it', async (t) => {
  const clock = fakeClock(t)
  const storage = new RecordingStorage()
  delete storage.touch
  const reasons: string[] = []
  const { app } = await serverApp(t, storage, { idleTimeout: 100, maxAge: null }, (r) => reasons.push(r))
  const cookie = cookiesOf((await app.inject('/login')).headers['set-cookie'])
  const [key, entry] = [...storage.entries][0]!
  const payloadOf = (value: string) => value.slice(value.indexOf('{'))
  clock.advance(20_000)
  await app.inject({ url: '/read', headers: { cookie } })
  const after = storage.entries.get(key)!
  t.equal(payloadOf(after.value), payloadOf(entry.value), 'same payload')
  t.not(after.value, entry.value, 'a new last-seen time')
  for (const e of storage.entries.values()) e.expiresAt = null // judged from the record alone
  clock.advance(100_000)
  t.same((await app.inject({ url: '/read', headers: { cookie } })).json(), { s: null })
  t.same(reasons, ['idle'])
})

test('a failing idle refresh is logged, not an error', async (t) => {
  const clock = fakeClock(t)
  const storage = new RecordingStorage()
  const { app } = await serverApp(t, storage, { idleTimeout: 100 })
  const cookie = cookiesOf((await app.inject('/login')).headers['set-cookie'])
  clock.advance(20_000)
  storage.touch = async () => { throw new Error('touch failed') }
  const res = await app.inject({ url: '/read', headers: { cookie } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { s: { username: 'john', count: 0 } })
})

test('a storage that fails answers 503 FST_SESSIONS_STORAGE_UNAVAILABLE with no Set-Cookie, and loses nothing', async (t) => {
  const storage = new RecordingStorage()
  const { app } = await serverApp(t, storage)
  const cookie = cookiesOf((await app.inject('/login')).headers['set-cookie'])
  storage.failing = true
  const read = await app.inject({ url: '/bump', headers: { cookie } })
  t.equal(read.statusCode, 503)
  t.equal(read.json().code, 'FST_SESSIONS_STORAGE_UNAVAILABLE')
  t.equal(read.headers['set-cookie'], undefined)
  t.notMatch(read.body, /john|LOGIN=/)
  const login = await app.inject('/login')
  t.equal(login.statusCode, 503, 'a write that did not happen is not a 2xx')
  t.equal(login.headers['set-cookie'], undefined)
  t.equal((await app.inject('/read')).statusCode, 200, 'requests without a session are unaffected')
  storage.failing = false
  t.same((await app.inject({ url: '/read', headers: { cookie } })).json(), { s: { username: 'john', count: 0 } }, 'nothing was lost')
})

test('a slow storage write has finished when the response arrives', async (t) => {
  const storage = new RecordingStorage()
  storage.delay = 50
  const { app } = await serverApp(t, storage)
  const res = await app.inject('/login')
  t.equal(res.statusCode, 200)
  t.equal(storage.entries.size, 1, 'written before the response')
})

test('a header session can be server-side', async (t) => {
  const storage = new RecordingStorage()
  const api = headerSession('X-Api-Session', schema(), { storage, transformers: [messageAuthentication({ key: hex(KEY_HEX) })] })
  const app = await buildApp(t, [api])
  app.get('/login', async (request) => { request.sessions.set(api, { username: 'bot', count: 0 }); return 'ok' })
  app.get('/me', async (request) => ({ s: request.sessions.get(api) }))
  app.get('/logout', async (request) => { request.sessions.clear(api); return 'ok' })
  const token = (await app.inject('/login')).headers['x-api-session'] as string
  t.match(token, /^[A-Za-z0-9_-]{43}\/[0-9a-f]{64}$/, 'a signed id')
  t.same((await app.inject({ url: '/me', headers: { 'x-api-session': token } })).json(), { s: { username: 'bot', count: 0 } })
  const logout = await app.inject({ url: '/logout', headers: { 'x-api-session': token } })
  t.equal(logout.headers['x-api-session'], '')
  t.equal(storage.entries.size, 0)
})

test('two providers sharing a storage never read each other\'s sessions', async (t) => {
  const storage = new RecordingStorage()
  const a = cookieSession('A', schema(), { storage })
  const b = cookieSession('B', Type.Object({ username: Type.String(), count: Type.Integer() }), { storage })
  const app = await buildApp(t, [a, b])
  app.get('/set', async (request) => { request.sessions.set(a, { username: 'admin', count: 1 }); return 'ok' })
  app.get('/read', async (request) => ({ b: request.sessions.get(b) }))
  const id = idOf(await app.inject('/set'))
  t.same((await app.inject({ url: '/read', headers: { cookie: 'B=' + id } })).json(), { b: null })
})

test('a custom identity is used, and presented ids must match its idPattern', async (t) => {
  const storage = new RecordingStorage()
  let n = 0
  const login = cookieSession('LOGIN', schema(), { storage, identity: () => `id-${++n}-${'x'.repeat(20)}`, idPattern: /^id-\d+-x{20}$/ })
  const app = await buildApp(t, [login])
  app.get('/set', async (request) => { request.sessions.set(login, { username: 'a', count: 0 }); return 'ok' })
  app.get('/read', async (request) => ({ s: request.sessions.get(login) }))
  const id = idOf(await app.inject('/set'))
  t.equal(id, 'id-1-' + 'x'.repeat(20))
  t.same((await app.inject({ url: '/read', headers: { cookie: 'LOGIN=' + id } })).json(), { s: { username: 'a', count: 0 } })
  const calls = storage.calls.length
  await app.inject({ url: '/read', headers: { cookie: 'LOGIN=' + 'A'.repeat(43) } })
  t.equal(storage.calls.length, calls, 'a default-form id is refused unread')
})

test('the plugin closes every storage once when Fastify closes', async (t) => {
  let closed = 0
  const storage = new RecordingStorage() as RecordingStorage & { close: () => Promise<void> }
  storage.close = async () => { closed++ }
  const a = cookieSession('A', schema(), { storage })
  const b = cookieSession('B', Type.Object({ username: Type.String(), count: Type.Integer() }), { storage })
  const app = await buildApp(t, [a, b])
  await app.ready()
  await app.close()
  t.equal(closed, 1)
})
