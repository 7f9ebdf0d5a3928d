import { test } from 'tap'
import Type from 'typebox'
import { cookieSession, hex, memoryStorage, messageAuthentication } from '../../lib/index.js'
import { buildApp, KEY_HEX } from '../helpers/app.js'

// The cookie options partitioned (CHIPS) and priority.

const Login = Type.Object({ user: Type.String() })

test('partitioned and priority are written on the Set-Cookie line, server- and client-side', async (t) => {
  const server = cookieSession('__Host-S', Login, { storage: memoryStorage(), cookie: { partitioned: true, priority: 'high' } })
  const client = cookieSession('C', Type.Object({ n: Type.Integer() }), { transformers: [messageAuthentication({ key: hex(KEY_HEX) })], cookie: { secure: true, partitioned: true, priority: 'low' } })
  const app = await buildApp(t, [server, client])
  app.get('/', async (request) => {
    request.sessions.set(server, { user: 'ada' })
    request.sessions.set(client, { n: 1 })
    return 'ok'
  })
  app.get('/out', async (request) => {
    request.sessions.clear(server)
    return 'ok'
  })
  const res = await app.inject({ method: 'GET', url: '/' })
  const lines = res.headers['set-cookie'] as string[]
  t.match(lines.find((l) => l.startsWith('__Host-S=')), /; Secure; HttpOnly; SameSite=Lax; Partitioned; Priority=High$/)
  t.match(lines.find((l) => l.startsWith('C=')), /; Secure; HttpOnly; SameSite=Lax; Partitioned; Priority=Low$/)
  const cookie = res.cookies.find((c) => c.name === '__Host-S')
  const out = await app.inject({ method: 'GET', url: '/out', headers: { cookie: `__Host-S=${cookie?.value}` } })
  t.match(out.headers['set-cookie'], /^__Host-S=; Max-Age=0; .*; Partitioned; Priority=High$/, 'the clearing line has them too, so it names the same cookie')
})

test('without them, neither attribute is written', async (t) => {
  const server = cookieSession('S', Login, { storage: memoryStorage() })
  const app = await buildApp(t, [server])
  app.get('/', async (request) => { request.sessions.set(server, { user: 'ada' }); return 'ok' })
  const line = (await app.inject({ method: 'GET', url: '/' })).headers['set-cookie'] as string
  t.notMatch(line, /Partitioned|Priority/)
})

test('partitioned without Secure is refused when the provider is made', async (t) => {
  for (const secure of [false, 'auto', undefined] as const) {
    const cookie = secure === undefined ? { partitioned: true } : { partitioned: true, secure }
    t.throws(() => cookieSession('S', Login, { storage: memoryStorage(), cookie }), { code: 'FST_SESSIONS_OPTIONS', message: /Partitioned cookie without Secure/ }, String(secure))
  }
  t.throws(() => cookieSession('S', Login, { storage: memoryStorage(), cookie: { secure: true, priority: 'urgent' as 'high' } }), { code: 'FST_SESSIONS_OPTIONS' }, 'an unknown priority')
  for (const extension of ['Partitioned', 'PRIORITY']) {
    t.throws(() => cookieSession('S', Login, { storage: memoryStorage(), cookie: { extensions: { [extension]: '' } } }), { code: 'FST_SESSIONS_OPTIONS', message: /repeats an attribute/ }, extension)
  }
})
