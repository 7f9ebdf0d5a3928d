import Fastify from 'fastify'
import { test } from 'tap'
import Type from 'typebox'
import sessions, { cookieSession, memoryStorage } from '../../lib/index.js'

// Mistakes users make at run time get an error that says what to do, not another library's
// message or a TypeError.

const Login = Type.Object({ user: Type.String() })

test('registering the plugin twice is refused with a message naming the fix', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(sessions, { providers: [cookieSession('A', Login, { storage: memoryStorage() })] })
  const error = await app.register(sessions, { providers: [cookieSession('B', Type.Object({ n: Type.Integer() }), { storage: memoryStorage() })] }).then(() => null, (e: Error) => e)
  t.equal((error as { code?: string } | null)?.code, 'FST_SESSIONS_OPTIONS')
  t.match(error?.message, /registered twice.*register it once, with every provider in its providers list/)
  t.notMatch(error?.message, /decorator/, 'not Fastify\'s decorator message')
})

test('a plugin registered twice in a child context is refused the same way', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(sessions, { providers: [cookieSession('A', Login, { storage: memoryStorage() })] })
  const error = await app.register(async (child) => {
    await child.register(sessions, { providers: [cookieSession('B', Type.Object({ n: Type.Integer() }), { storage: memoryStorage() })] })
  }).then(() => null, (e: Error) => e)
  t.equal((error as { code?: string } | null)?.code, 'FST_SESSIONS_OPTIONS')
})

test('a hook that runs before the plugin\'s onRequest and touches request.sessions is told what to do', async (t) => {
  const login = cookieSession('A', Login, { storage: memoryStorage() })
  const app = Fastify()
  t.teardown(() => app.close())
  app.addHook('onRequest', async (request) => {
    request.sessions.get(login)
  })
  await app.register(sessions, { providers: [login] })
  app.get('/', async () => 'ok')
  const res = await app.inject({ method: 'GET', url: '/' })
  t.equal(res.statusCode, 500)
  t.equal(res.json().code, 'FST_SESSIONS_OPTIONS')
  t.match(res.json().message, /request\.sessions is not ready.*Register fastify-sessions before adding that hook/)
  t.notMatch(res.json().message, /Cannot read properties/)
})

test('a later hook of the same kind, and a preHandler, see request.sessions', async (t) => {
  const login = cookieSession('A', Login, { storage: memoryStorage() })
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(sessions, { providers: [login] })
  const seen: unknown[] = []
  app.addHook('onRequest', async (request) => { seen.push(request.sessions.get(login)) })
  app.addHook('preHandler', async (request) => { seen.push(request.sessions.get(login)) })
  app.get('/', async () => 'ok')
  t.equal((await app.inject({ method: 'GET', url: '/' })).statusCode, 200)
  t.same(seen, [null, null])
})

test('a maxAge in milliseconds by habit is refused, saying seconds, not milliseconds', async (t) => {
  const week = 7 * 24 * 3600
  for (const options of [{ maxAge: week * 1000 }, { maxAge: week, maxAgeLimit: week * 1000 }, { idleTimeout: week * 1000 }, { cookie: { maxAge: week * 1000 } }]) {
    const error = t.throws(() => cookieSession('S', Login, { storage: memoryStorage(), ...options }), { code: 'FST_SESSIONS_OPTIONS' }, JSON.stringify(options)) as Error | undefined
    t.match(error?.message, /in seconds, not milliseconds/)
    t.match(error?.message, new RegExp(`${week}`), 'and suggests the value in seconds')
  }
})

test('set(p, value, { maxAge }) in milliseconds is refused in the handler, saying seconds, not milliseconds', async (t) => {
  const login = cookieSession('A', Login, { storage: memoryStorage(), maxAge: null })
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(sessions, { providers: [login] })
  app.get('/', async (request) => {
    try {
      request.sessions.set(login, { user: 'ada' }, { maxAge: 30 * 86400 * 1000 })
      return { ok: true }
    } catch (error) {
      return { code: (error as { code: string }).code, message: (error as Error).message }
    }
  })
  const res = await app.inject({ method: 'GET', url: '/' })
  t.equal(res.json().code, 'FST_SESSIONS_INVALID_PAYLOAD')
  t.match(res.json().message, /in seconds, not milliseconds/)
  t.equal(res.cookies.length, 0)
})
