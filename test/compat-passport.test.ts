import { Authenticator } from '@fastify/passport'
import Fastify from 'fastify'
import { Strategy as LocalStrategy } from 'passport-local'
import { test, type Test } from 'tap'
import Type from 'typebox'
import sessions, { cookieSession, memoryStorage, sessionCompat } from '../lib/index.js'

// @fastify/passport with passport-local, unchanged, over sessionCompat: its SecureSessionManager
// calls request.session.get / set / regenerate, and @fastify/flash (which it registers) needs
// the `session` decorator.

// What passport's users write: @fastify/secure-session's types describe request.session.
declare module '@fastify/secure-session' {
  interface SessionData { visits: number }
}

const USERS = new Map([['ada', { id: 'u1', name: 'ada', password: 'lovelace' }]])

async function passportApp (t: Test) {
  const Bag = Type.Record(Type.String(), Type.Unknown())
  const main = cookieSession('sessionId', Bag, { storage: memoryStorage() })
  const passport = new Authenticator()
  passport.use('local', new LocalStrategy((username, password, done) => {
    const user = USERS.get(username)
    done(null, user !== undefined && user.password === password ? user : false)
  }))
  passport.registerUserSerializer(async (user: { id: string }) => user.id)
  passport.registerUserDeserializer(async (id: string) => [...USERS.values()].find((u) => u.id === id) ?? null)
  const app = Fastify()
  await app.register(sessions, { providers: [main] })
  await app.register(sessionCompat, { provider: main })
  await app.register(passport.initialize())
  await app.register(passport.secureSession())
  app.get('/visit', async (request) => {
    request.session.set('visits', 1)
    return { id: request.sessions.id(main) }
  })
  app.post('/login', { preValidation: passport.authenticate('local', { authInfo: false }) }, async () => 'welcome')
  app.get('/me', async (request, reply) => {
    if (request.user === null || request.user === undefined) return reply.code(401).send({ user: null })
    return { user: (request.user as { name: string }).name }
  })
  app.post('/logout', async (request) => {
    await request.logout()
    return 'bye'
  })
  t.teardown(() => app.close())
  return { app, main }
}

function cookieOf (res: { cookies: Array<{ name: string, value: string }> }): string {
  const cookie = res.cookies.find((c) => c.name === 'sessionId')
  if (cookie === undefined) throw new Error('no session cookie')
  return `sessionId=${cookie.value}`
}

test('passport-local logs in, request.user is the user on a protected page, logout ends it', async (t) => {
  const { app } = await passportApp(t)
  const anonymous = await app.inject({ method: 'GET', url: '/me' })
  t.equal(anonymous.statusCode, 401, 'no login, no user')

  const bad = await app.inject({ method: 'POST', url: '/login', payload: { username: 'ada', password: 'wrong' } })
  t.equal(bad.statusCode, 401, 'a wrong password is refused')
  t.equal(bad.cookies.length, 0, 'and makes no session')

  const login = await app.inject({ method: 'POST', url: '/login', payload: { username: 'ada', password: 'lovelace' } })
  t.equal(login.statusCode, 200)
  const cookie = cookieOf(login)
  const me = await app.inject({ method: 'GET', url: '/me', headers: { cookie } })
  t.same(me.json(), { user: 'ada' }, 'request.user comes from the session')

  const logout = await app.inject({ method: 'POST', url: '/logout', headers: { cookie } })
  t.equal(logout.statusCode, 200)
  const expired = logout.cookies.find((c) => c.name === 'sessionId')
  t.equal(expired?.maxAge, 0, 'logout expires the cookie')

  const replay = await app.inject({ method: 'GET', url: '/me', headers: { cookie } })
  t.equal(replay.statusCode, 401, 'the pre-logout cookie, replayed, is refused')
})

test('login regenerates the session: the id held before login is dead afterwards', async (t) => {
  const { app } = await passportApp(t)
  const visit = await app.inject({ method: 'GET', url: '/visit' })
  const before = cookieOf(visit)
  const known = await app.inject({ method: 'GET', url: '/visit', headers: { cookie: before } })
  t.type(known.json().id, 'string', 'an anonymous session exists before login')

  const login = await app.inject({ method: 'POST', url: '/login', headers: { cookie: before }, payload: { username: 'ada', password: 'lovelace' } })
  t.equal(login.statusCode, 200)
  t.not(cookieOf(login), before, 'the logged-in session has a new id')
  const stolen = await app.inject({ method: 'GET', url: '/me', headers: { cookie: before } })
  t.equal(stolen.statusCode, 401, 'a cookie fixed before login does not carry the login')
  const me = await app.inject({ method: 'GET', url: '/me', headers: { cookie: cookieOf(login) } })
  t.same(me.json(), { user: 'ada' })
})
