import t, { type Test } from 'tap'
import Fastify, { type LightMyRequestResponse } from 'fastify'
import Type from 'typebox'
import sessions, { cookieSession, redisStorage, type RedisStorage } from '../lib/index.js'
import { cookiesOf } from './helpers/app.js'
import { settleWithin } from './helpers/deadline.js'
import { redisSkip, startRedis, waitFor, type RedisServer } from './helpers/redis.js'

const skip = redisSkip(t)

const TIMEOUT = 300
/** What may come between the storage's timeout firing and the 503 (see helpers/deadline.ts). */
const MARGIN = 400

const LoginSession = Type.Object({ username: Type.String(), count: Type.Integer() })

// A long timeout unless the test is about the timeout: a loaded machine may delay redis-server's answers.
async function redisApp (t: Test, server: RedisServer, timeout = 30_000) {
  const storage = redisStorage({ url: server.url, timeout })
  const login = cookieSession('LOGIN', LoginSession, { storage, maxAge: 3600 })
  const app = Fastify()
  await app.register(sessions, { providers: [login] })
  app.get('/login', async (request) => {
    request.sessions.set(login, { username: 'john', count: 1 })
    return 'ok'
  })
  app.get('/bump', async (request) => {
    const s = request.sessions.get(login)
    if (s !== null) request.sessions.set(login, { ...s, count: s.count + 1 })
    return { s }
  })
  app.get('/read', async (request) => ({ s: request.sessions.get(login) }))
  app.get('/logout', async (request) => { request.sessions.clear(login); return 'ok' })
  t.teardown(() => app.close())
  return { app, storage }
}

/** The Cookie header that sends a login response's session back, and the session's id. */
function loginCookie (res: LightMyRequestResponse): { cookie: string, id: string } {
  return { cookie: cookiesOf(res.headers['set-cookie']), id: res.cookies[0]?.value ?? '' }
}

async function everyKey (server: RedisServer): Promise<string[]> {
  const admin = server.client()
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await admin.scan(cursor, 'COUNT', 100)
    cursor = next
    keys.push(...batch)
  } while (cursor !== '0')
  return keys
}

t.test('server-side sessions on Redis: round trip, hashed keys, expiry, logout, and close', { skip }, async (t) => {
  const server = await startRedis(t)
  const admin = server.client()
  const { app, storage } = await redisApp(t, server)

  const login = await app.inject('/login')
  t.equal(login.statusCode, 200)
  const { cookie, id } = loginCookie(login)
  t.match(id, /^[A-Za-z0-9_-]{43}$/)
  const bumped = await app.inject({ url: '/bump', headers: { cookie } })
  t.same(bumped.json(), { s: { username: 'john', count: 1 } })
  const before = await commandCalls(admin)
  const read = await app.inject({ url: '/read', headers: { cookie } })
  t.same(read.json(), { s: { username: 'john', count: 2 } })
  t.equal(read.headers['set-cookie'], undefined)
  const after = await commandCalls(admin)
  t.same(diff(before, after), { get: 1, info: 1 }, 'a read is one GET, and writes nothing')

  const keys = await everyKey(server)
  t.equal(keys.length, 1, 'one session, one key')
  const [key] = keys
  t.match(key, /^sess:[A-Za-z0-9_-]{43}$/)
  t.notOk(key!.includes(id), 'the key does not contain the session id')
  const value = await admin.get(key!)
  t.match(value, '"username":"john"')
  t.notOk(value!.includes(id), 'the value does not contain the session id')
  const pttl = await admin.pttl(key!)
  t.ok(pttl > 3_590_000 && pttl <= 3_600_000, `PTTL ${pttl} is within maxAge`)

  const logout = await app.inject({ url: '/logout', headers: { cookie } })
  t.equal(logout.statusCode, 200)
  t.same(await everyKey(server), [], 'logout deletes the key')
  t.same((await app.inject({ url: '/read', headers: { cookie } })).json(), { s: null })

  await app.close()
  t.equal((storage as RedisStorage).client.status, 'end', 'closing Fastify closed the client the storage made')
})

t.test('Redis hung mid-test: session requests answer 503 within the timeout, anonymous ones 200; then it recovers', { skip }, async (t) => {
  const server = await startRedis(t)
  // The session is made through an app with a long timeout: on a loaded machine redis-server itself
  // may answer later than 300 ms, which is not what this test is about. Both apps share the storage keys.
  const patient = (await redisApp(t, server)).app
  const { app } = await redisApp(t, server, TIMEOUT)
  const { cookie } = loginCookie(await patient.inject('/login'))
  t.same((await patient.inject({ url: '/read', headers: { cookie } })).json(), { s: { username: 'john', count: 1 } })

  server.pause()
  for (const [what, request] of [
    ['a read of the session', { url: '/read', headers: { cookie } }],
    ['an update of the session', { url: '/bump', headers: { cookie } }],
    ['a new session', { url: '/login' }],
  ] as const) {
    const started = performance.now()
    const { result, inTime } = await settleWithin(app.inject(request), TIMEOUT + MARGIN)
    const ms = performance.now() - started
    if (result.status === 'rejected') throw result.reason
    const res = result.value
    t.equal(res.statusCode, 503, `${what}: 503`)
    t.equal(res.json().code, 'FST_SESSIONS_STORAGE_UNAVAILABLE', `${what}: code`)
    t.equal(res.headers['set-cookie'], undefined, `${what}: no Set-Cookie`)
    // The first meets the hang and waits out the timeout; the storage then drops the hung
    // connection, and later requests fail at once or at their own timeout while it reconnects.
    const earliest = what === 'a read of the session' ? TIMEOUT - 5 : 0
    t.ok(ms >= earliest && inTime, `${what} answered after ${ms.toFixed(0)} ms, before a timer of the timeout + ${MARGIN} ms`)
  }
  const anonymous = await settleWithin(app.inject('/read'), TIMEOUT)
  if (anonymous.result.status === 'rejected') throw anonymous.result.reason
  t.equal(anonymous.result.value.statusCode, 200, 'a request without a session is unaffected')
  t.same(anonymous.result.value.json(), { s: null })
  t.ok(anonymous.inTime, 'and does not wait for Redis: it ends before a timer of the timeout')
  server.resume()

  const back = await waitFor('the session to read back', async () => {
    const res = await app.inject({ url: '/read', headers: { cookie } })
    return res.statusCode === 200 ? res.json() : undefined
  }, 5000)
  t.same(back, { s: { username: 'john', count: 1 } }, 'the old session reads back, unchanged by the failed update')
})

t.test('Redis killed mid-test: session requests answer 503 at once; after a restart the old session reads back', { skip }, async (t) => {
  const server = await startRedis(t, { appendonly: true })
  const { app } = await redisApp(t, server, 2000)
  const { cookie } = loginCookie(await app.inject('/login'))

  await server.kill()
  const started = performance.now()
  const { result, inTime } = await settleWithin(app.inject({ url: '/read', headers: { cookie } }), 1000)
  const ms = performance.now() - started
  if (result.status === 'rejected') throw result.reason
  const res = result.value
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'FST_SESSIONS_STORAGE_UNAVAILABLE')
  t.equal(res.headers['set-cookie'], undefined)
  t.ok(inTime, `answered after ${ms.toFixed(1)} ms, before a timer of half the 2000 ms timeout`)
  t.equal((await app.inject('/read')).statusCode, 200, 'a request without a session is unaffected')

  await server.restart()
  let read: { s: unknown } | undefined
  const deadline = Date.now() + 5000
  while (read === undefined && Date.now() < deadline) {
    const again = await app.inject({ url: '/read', headers: { cookie } })
    if (again.statusCode === 200) read = again.json()
    else await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.same(read, { s: { username: 'john', count: 1 } }, 'the old session reads back, no restart of the app')
})

/** Calls of each command so far, from INFO commandstats. */
async function commandCalls (admin: ReturnType<RedisServer['client']>): Promise<Map<string, number>> {
  const stats = await admin.info('commandstats')
  const calls = new Map<string, number>()
  for (const match of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1]!, Number(match[2]))
  return calls
}

function diff (before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [name, calls] of after) {
    const more = calls - (before.get(name) ?? 0)
    if (more > 0) out[name] = more
  }
  return out
}
