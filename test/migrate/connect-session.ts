import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import fastifyCookie from '@fastify/cookie'
import fastifySession from '@fastify/session'
import expressSession from 'express-session'
import Fastify from 'fastify'
import { test } from 'tap'
import type { Test } from 'tap'
import Type from 'typebox'
import { cookieSession, fromConnectSession, memoryStorage, type ConnectStore } from '../../lib/index.js'
import { buildApp, cookiesOf, fakeClock, setCookies } from '../helpers/app.js'

const SECRET = 'an old secret of at least thirty-two characters'
const User = Type.Object({ user: Type.String() })

function storeGet (store: ConnectStore, id: string): Promise<unknown> {
  return new Promise((resolve, reject) => { store.get(id, (err, session) => { if (err !== null && err !== undefined) reject(err); else resolve(session ?? null) }) })
}

/** A real @fastify/session app: logs `user` in and answers the cookie and the session id. */
async function fastifySessionLogin (t: Test, store: ConnectStore, user: unknown, maxAge?: number): Promise<{ cookie: string, id: string }> {
  const old = Fastify()
  t.teardown(() => old.close())
  await old.register(fastifyCookie)
  await old.register(fastifySession, { secret: SECRET, store: store as never, cookie: { secure: false, ...(maxAge === undefined ? {} : { maxAge }) } })
  old.post('/login', async (request) => {
    request.session.set('user' as never, user as never)
    // @fastify/secure-session's typing of request.session (through @fastify/flash) shadows @fastify/session's here.
    return (request.session as unknown as { sessionId: string }).sessionId
  })
  const res = await old.inject({ method: 'POST', url: '/login' })
  const line = setCookies(res.headers['set-cookie']).find((l) => l.startsWith('sessionId='))
  t.ok(line, '@fastify/session set its cookie')
  return { cookie: (line as string).split(';')[0] as string, id: res.body }
}

/** A real express-session middleware on a node http server: logs `user` in. */
async function expressLogin (t: Test, store: expressSession.Store, user: string): Promise<{ cookie: string, id: string }> {
  const middleware = expressSession({ secret: SECRET, store, resave: false, saveUninitialized: false })
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    middleware(req as never, res as never, () => {
      const session = req as unknown as { session: expressSession.Session & { user?: string }, sessionID: string }
      session.session.user = user
      res.end(session.sessionID)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/login`, { method: 'POST' })
  const line = res.headers.getSetCookie().find((l) => l.startsWith('connect.sid='))
  t.ok(line, 'express-session set its cookie')
  return { cookie: (line as string).split(';')[0] as string, id: await res.text() }
}

async function newApp (t: Test, store: ConnectStore, options: { cookieName?: string, map?: (data: Record<string, unknown>) => { user: string } | null } = {}) {
  const migration = fromConnectSession({
    secret: ['a newer secret that signs nothing old yet', SECRET],
    store,
    ...(options.cookieName === undefined ? {} : { cookieName: options.cookieName }),
    map: options.map ?? ((data) => typeof data['user'] === 'string' ? { user: data['user'] } : null),
  })
  const login = cookieSession('app_session', User, { storage: memoryStorage(), migrate: [migration] })
  const app = await buildApp(t, [login])
  app.get('/', async (request) => ({ user: request.sessions.get(login)?.user ?? null }))
  return app
}

function expired (lines: string[], name: string): boolean {
  return lines.some((l) => l.startsWith(`${name}=;`) && /Max-Age=0/.test(l))
}

test('an @fastify/session session moves in: set in our format, the old cookie expired, the old store entry destroyed', async (t) => {
  const store = new fastifySession.MemoryStore() as unknown as ConnectStore
  const { cookie, id } = await fastifySessionLogin(t, store, 'ada')
  t.ok(await storeGet(store, id), 'the old entry exists')
  const app = await newApp(t, store)
  const res = await app.inject({ url: '/', headers: { cookie } })
  t.same(res.json(), { user: 'ada' })
  const lines = setCookies(res.headers['set-cookie'])
  t.ok(expired(lines, 'sessionId'), 'the old cookie is expired')
  t.equal(await storeGet(store, id), null, 'the old entry is destroyed')
  const next = await app.inject({ url: '/', headers: { cookie: cookiesOf(lines.filter((l) => l.startsWith('app_session='))) } })
  t.same(next.json(), { user: 'ada' }, 'our cookie carries the session from now on')
  const replay = await app.inject({ url: '/', headers: { cookie } })
  t.same(replay.json(), { user: null }, 'the old cookie, replayed, finds nothing to move')
})

test('an express-session session (s:-signed, connect.sid) moves in from its store', async (t) => {
  const store = new expressSession.MemoryStore()
  const { cookie, id } = await expressLogin(t, store, 'grace')
  t.match(cookie, /^connect\.sid=s%3A/)
  const app = await newApp(t, store as unknown as ConnectStore, { cookieName: 'connect.sid' })
  const res = await app.inject({ url: '/', headers: { cookie } })
  t.same(res.json(), { user: 'grace' })
  t.ok(expired(setCookies(res.headers['set-cookie']), 'connect.sid'))
  t.equal(await storeGet(store as unknown as ConnectStore, id), null, 'the old entry is destroyed')
})

test('garbage, tampered, wrongly signed and unknown old cookies read as absent, never a 500', async (t) => {
  const store = new fastifySession.MemoryStore() as unknown as ConnectStore
  const { cookie, id } = await fastifySessionLogin(t, store, 'ada')
  const value = cookie.slice('sessionId='.length)
  const app = await newApp(t, store)
  const dot = decodeURIComponent(value).lastIndexOf('.')
  const plain = decodeURIComponent(value)
  // The id's last character changed (to one it is not: an id ending in x once made this the original).
  const signedOther = plain.slice(0, dot - 1) + (plain[dot - 1] === 'x' ? 'y' : 'x') + plain.slice(dot)
  for (const bad of ['garbage', '.', 'a.', '.sig', '%E0%A4%A', value.slice(0, -2), value + 'A', encodeURIComponent(signedOther), `${id}`, 's:' + value.slice(0, -1)]) {
    const res = await app.inject({ url: '/', headers: { cookie: `sessionId=${bad}` } })
    t.equal(res.statusCode, 200, bad)
    t.same(res.json(), { user: null }, `${bad} reads as absent`)
    t.notOk(expired(setCookies(res.headers['set-cookie']), 'sessionId'))
  }
  t.ok(await storeGet(store, id), 'the old entry is untouched')
})

test("the old library's own expiry is honoured: an expired old session does not move", async (t) => {
  const clock = fakeClock(t)
  const store = new fastifySession.MemoryStore() as unknown as ConnectStore
  const { cookie } = await fastifySessionLogin(t, store, 'ada', 60_000)
  const app = await newApp(t, store)
  clock.advance(59_000)
  const { cookie: other } = await fastifySessionLogin(t, store, 'bob', 60_000)
  clock.advance(1_000)
  t.same((await app.inject({ url: '/', headers: { cookie } })).json(), { user: null }, 'at its expiry it reads as absent')
  t.same((await app.inject({ url: '/', headers: { cookie: other } })).json(), { user: 'bob' }, 'one still within its maxAge moves')
})

test('map returning null means do not migrate: the old cookie and entry are kept', async (t) => {
  const store = new fastifySession.MemoryStore() as unknown as ConnectStore
  const { cookie, id } = await fastifySessionLogin(t, store, 'ada')
  const app = await newApp(t, store, { map: () => null })
  const res = await app.inject({ url: '/', headers: { cookie } })
  t.same(res.json(), { user: null })
  t.same(setCookies(res.headers['set-cookie']), [])
  t.ok(await storeGet(store, id), 'the old entry is kept')
})

test('a failing old store answers 503 FST_SESSIONS_STORAGE_UNAVAILABLE, and the old session is kept for the next try', async (t) => {
  const store = new expressSession.MemoryStore()
  const { cookie } = await expressLogin(t, store, 'ada')
  class Failing extends expressSession.MemoryStore {
    override get (_sid: string, callback: (err: unknown, session?: expressSession.SessionData | null) => void): void {
      callback(new Error('connection lost to 10.0.0.1'))
    }
  }
  const app = await newApp(t, new Failing() as unknown as ConnectStore, { cookieName: 'connect.sid' })
  const res = await app.inject({ url: '/', headers: { cookie } })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'FST_SESSIONS_STORAGE_UNAVAILABLE')
  t.notMatch(res.body, /10\.0\.0\.1/, 'the store error stays in the log')
  t.same(setCookies(res.headers['set-cookie']), [])
})

test('bad fromConnectSession options are refused at the factory', async (t) => {
  const store = new expressSession.MemoryStore() as unknown as ConnectStore
  const map = (): null => null
  t.throws(() => fromConnectSession({ secret: '', store, map }), { code: 'FST_SESSIONS_OPTIONS', message: /secret/ })
  t.throws(() => fromConnectSession({ secret: SECRET, store: {} as never, map }), { code: 'FST_SESSIONS_OPTIONS', message: /store/ })
  t.throws(() => fromConnectSession({ secret: SECRET, store } as never), { code: 'FST_SESSIONS_OPTIONS', message: /map/ })
  t.throws(() => fromConnectSession({ secret: [], store, map }), { code: 'FST_SESSIONS_OPTIONS', message: /secret/ })
  t.throws(() => fromConnectSession({ secret: SECRET, store, map, cookiePrefix: 's:' } as never), { code: 'FST_SESSIONS_OPTIONS', message: /unknown option "cookiePrefix"/ })
})
