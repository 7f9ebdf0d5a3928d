import cookie from '@fastify/cookie'
import Fastify, { type FastifyInstance } from 'fastify'
import { test, type Test } from 'tap'
import Type from 'typebox'
import sessions, { cookieSession, memoryStorage } from '../lib/index.js'

// @fastify/cookie beside the plugin: both read the Cookie header, each writes its own cookies,
// and Fastify keeps every Set-Cookie line, whichever was registered first.

const Login = Type.Object({ user: Type.String() })

async function appWith (t: Test, order: 'cookie first' | 'sessions first'): Promise<FastifyInstance> {
  const login = cookieSession('LOGIN', Login, { storage: memoryStorage() })
  const app = Fastify()
  if (order === 'cookie first') await app.register(cookie)
  await app.register(sessions, { providers: [login] })
  if (order === 'sessions first') await app.register(cookie)
  app.get('/both', async (request, reply) => {
    reply.setCookie('theme', 'dark', { path: '/', httpOnly: true })
    request.sessions.set(login, { user: 'ada' })
    return 'ok'
  })
  app.get('/read', async (request) => ({ cookies: request.cookies, session: request.sessions.get(login) }))
  t.teardown(() => app.close())
  return app
}

for (const order of ['cookie first', 'sessions first'] as const) {
  test(`@fastify/cookie registered ${order === 'cookie first' ? 'before' : 'after'} the plugin: both Set-Cookie lines, request.cookies works`, async (t) => {
    const app = await appWith(t, order)
    const res = await app.inject({ method: 'GET', url: '/both' })
    t.equal(res.statusCode, 200)
    const lines = res.headers['set-cookie'] as string[]
    t.equal(lines.length, 2, 'two Set-Cookie lines')
    t.ok(lines.some((l) => l.startsWith('theme=dark; Path=/; HttpOnly')), 'the route\'s own cookie')
    t.ok(lines.some((l) => /^LOGIN=[\w-]{43}; Max-Age=/.test(l)), 'the session cookie')
    const header = res.cookies.map((c) => `${c.name}=${c.value}`).join('; ')
    const read = await app.inject({ method: 'GET', url: '/read', headers: { cookie: header } })
    t.equal(read.json().cookies.theme, 'dark', 'request.cookies holds the route\'s cookie')
    t.match(read.json().cookies.LOGIN, /^[\w-]{43}$/, 'and sees the session cookie as any other')
    t.same(read.json().session, { user: 'ada' }, 'the session reads')
  })
}
