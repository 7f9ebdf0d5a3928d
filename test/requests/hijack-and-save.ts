import Fastify from 'fastify'
import { test, type Test } from 'tap'
import Type from 'typebox'
import sessions, { cookieSession, hex, memoryStorage, messageAuthentication, type SessionProvider } from '../../lib/index.js'
import { cookiesOf, KEY_HEX } from '../helpers/app.js'

const Payload = Type.Object({ n: Type.Integer() })

async function hijackApp (t: Test) {
  const storage = memoryStorage()
  const server = cookieSession('SERVER', Payload, { storage }) as SessionProvider<{ n: number }>
  const client = cookieSession('CLIENT', Type.Object({ n: Type.Integer() }), { transformers: [messageAuthentication({ key: hex(KEY_HEX) })] }) as SessionProvider<{ n: number }>
  const lines: Array<{ level: number, msg: string, session?: unknown }> = []
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { lines.push(JSON.parse(line)) } } } })
  await app.register(sessions, { providers: [server, client] })
  t.teardown(() => app.close())
  const raw = (reply: { hijack (): void, raw: { writeHead (code: number, headers: Record<string, string>): void, end (body: string): void } }, body: unknown): void => {
    reply.hijack()
    reply.raw.writeHead(200, { 'content-type': 'application/json' })
    reply.raw.end(JSON.stringify(body))
  }
  app.get('/start', async (request) => {
    request.sessions.set(server, { n: 1 })
    request.sessions.set(client, { n: 1 })
    return 'ok'
  })
  app.get('/read', async (request) => ({ server: request.sessions.get(server), client: request.sessions.get(client), id: request.sessions.id(server) }))
  app.get('/lost', async (request, reply) => {
    request.sessions.set(server, { n: 2 })
    request.sessions.set(server, { n: 3 })
    request.sessions.clear(client)
    raw(reply, 'hijacked')
  })
  app.get('/saved', async (request, reply) => {
    request.sessions.set(server, { n: 4 })
    await request.sessions.save(server)
    raw(reply, 'hijacked')
  })
  app.get('/save-new', async (request, reply) => {
    request.sessions.regenerate(server)
    reply.hijack()
    const code = await request.sessions.save(server).then(() => 'saved', (error: { code?: string }) => error.code)
    reply.raw.writeHead(200, { 'content-type': 'application/json' })
    reply.raw.end(JSON.stringify({ code }))
  })
  app.get('/save-then-respond', async (request) => {
    request.sessions.regenerate(server)
    await request.sessions.save(server)
    // Written already: the id is known before the response goes out.
    return { id: request.sessions.id(server) }
  })
  return { app, lines }
}

test('a session changed before reply.hijack() is logged as lost, once per request, with the provider names', async (t) => {
  const { app, lines } = await hijackApp(t)
  const cookie = cookiesOf((await app.inject('/start')).headers['set-cookie'])
  const res = await app.inject({ url: '/lost', headers: { cookie } })
  t.equal(res.body, '"hijacked"')
  const lost = lines.filter((line) => /hijack/.test(line.msg))
  t.equal(lost.length, 1, 'one warning')
  t.equal(lost[0]?.level, 40, 'at warn level')
  t.match(lost[0]?.msg, /"SERVER"/)
  t.match(lost[0]?.msg, /"CLIENT"/)
  t.match(lost[0]?.msg, /save/)
  t.same((await app.inject({ url: '/read', headers: { cookie } })).json().server, { n: 1 }, 'the change was indeed lost')
  await app.inject({ url: '/read', headers: { cookie } })
  t.equal(lines.filter((line) => /hijack/.test(line.msg)).length, 1, 'a request that changes nothing logs nothing')
})

test('save() writes a server-side session now, so a hijacked reply keeps the change', async (t) => {
  const { app, lines } = await hijackApp(t)
  const cookie = cookiesOf((await app.inject('/start')).headers['set-cookie'])
  t.equal((await app.inject({ url: '/saved', headers: { cookie } })).body, '"hijacked"')
  t.same((await app.inject({ url: '/read', headers: { cookie } })).json().server, { n: 4 })
  t.same(lines.filter((line) => /hijack/.test(line.msg)), [], 'nothing is reported lost')
})

test('save() of a session that needs a new cookie throws FST_SESSIONS_ALREADY_SENT once the reply is hijacked, and writes nothing', async (t) => {
  const { app } = await hijackApp(t)
  const cookie = cookiesOf((await app.inject('/start')).headers['set-cookie'])
  t.same((await app.inject({ url: '/save-new', headers: { cookie } })).json(), { code: 'FST_SESSIONS_ALREADY_SENT' })
  t.same((await app.inject({ url: '/read', headers: { cookie } })).json().server, { n: 1 }, 'the old id still holds the session')
})

test('save() before the response writes at once, and the new cookie still goes out with the response', async (t) => {
  const { app } = await hijackApp(t)
  const start = await app.inject('/start')
  const cookie = cookiesOf(start.headers['set-cookie'])
  const before = (await app.inject({ url: '/read', headers: { cookie } })).json().id as string
  t.match(before, /^[A-Za-z0-9_-]{43}$/, 'id() gives the id the client holds')
  const res = await app.inject({ url: '/save-then-respond', headers: { cookie } })
  const id = res.json().id as string
  t.match(id, /^[A-Za-z0-9_-]{43}$/)
  t.not(id, before, 'a new id')
  const fresh = cookiesOf(res.headers['set-cookie'])
  t.match(fresh, new RegExp(`SERVER=${id}`), 'the response carries the new id')
  t.same((await app.inject({ url: '/read', headers: { cookie: fresh } })).json().server, { n: 1 })
  t.same((await app.inject({ url: '/read', headers: { cookie } })).json().server, null, 'the old id is dead')
  t.equal((await app.inject('/read')).json().id, null, 'id() is null without a session')
})
