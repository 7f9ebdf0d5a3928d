import { Writable } from 'node:stream'
import { test } from 'tap'
import Type from 'typebox'
import { cookieSession, hex, messageAuthentication, type InvalidReason } from '../lib/index.js'
import { buildApp, fakeClock, KEY_HEX, OTHER_KEY_HEX, rawCookieValues, RecordingStorage } from './helpers/app.js'

function logSink (): { lines: string[], stream: Writable } {
  const lines: string[] = []
  const stream = new Writable({
    write (chunk, _encoding, done) {
      lines.push(String(chunk))
      done()
    },
  })
  return { lines, stream }
}

test('every session that reads as absent is logged at debug with a reason, never with its value or a key', async (t) => {
  const clock = fakeClock(t)
  const { lines, stream } = logSink()
  const events: Array<[InvalidReason, string]> = []
  const key = hex(KEY_HEX)
  const storage = new RecordingStorage()
  const client = cookieSession('CLIENT', Type.Object({ secret: Type.String() }), { maxAge: 60, transformers: [messageAuthentication({ key })] })
  const other = cookieSession('OTHER', Type.Object({ secret: Type.String() }), { transformers: [messageAuthentication({ key })] })
  const server = cookieSession('SERVER', Type.Object({ secret: Type.String() }), { storage })
  const app = await buildApp(t, [client, other, server], {
    fastify: { logger: { level: 'debug', stream } },
    onInvalid: (reason, request, provider) => {
      t.equal(typeof request.id, 'string')
      events.push([reason, provider.name])
    },
  })
  app.get('/set', async (request) => {
    request.sessions.set(client, { secret: 'hunter2-client' })
    request.sessions.set(other, { secret: 'hunter2-other' })
    request.sessions.set(server, { secret: 'hunter2-server' })
    return 'ok'
  })
  app.get('/read', async (request) => [request.sessions.get(client), request.sessions.get(other), request.sessions.get(server)])
  const set = await app.inject('/set')
  const cookies = Object.fromEntries(rawCookieValues(set.headers['set-cookie']))
  const serverId = cookies.SERVER as string
  storage.entries.clear()

  const otherKey = messageAuthentication({ key: hex(OTHER_KEY_HEX) }).transformWrite('1:CLIENT:0:0::{"secret":"x"}')
  const requests = [
    `CLIENT=${encodeURIComponent(otherKey)}`, // bad-signature
    `CLIENT=${cookies.OTHER}`, // wrong-provider
    'CLIENT=%ZZ', // malformed
    `SERVER=${serverId}`, // not-found
  ]
  for (const cookie of requests) t.equal((await app.inject({ url: '/read', headers: { cookie } })).statusCode, 200)
  clock.advance(61_000)
  await app.inject({ url: '/read', headers: { cookie: `CLIENT=${cookies.CLIENT}` } }) // expired

  t.same(events, [['bad-signature', 'CLIENT'], ['wrong-provider', 'CLIENT'], ['malformed', 'CLIENT'], ['not-found', 'SERVER'], ['expired', 'CLIENT']])
  const debug = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'session ignored')
  t.same(debug.map((entry) => [entry.reason, entry.session, entry.level]), events.map(([reason, name]) => [reason, name, 20]))
  const everything = lines.join('\n')
  for (const secret of ['hunter2', KEY_HEX, OTHER_KEY_HEX, serverId, cookies.CLIENT, cookies.OTHER, decodeURIComponent(cookies.CLIENT as string)]) {
    t.notOk(everything.includes(secret as string), 'no log line holds a value, an id or a key')
  }
})

test('a throwing onInvalid is logged and does not fail the request', async (t) => {
  const { lines, stream } = logSink()
  const login = cookieSession('LOGIN', Type.Object({ a: Type.String() }), { transformers: [messageAuthentication({ key: hex(KEY_HEX) })] })
  const app = await buildApp(t, [login], {
    fastify: { logger: { level: 'info', stream } },
    onInvalid: () => { throw new Error('metrics are down') },
  })
  app.get('/', async (request) => ({ s: request.sessions.get(login) }))
  const res = await app.inject({ url: '/', headers: { cookie: 'LOGIN=garbage' } })
  t.equal(res.statusCode, 200)
  t.ok(lines.some((line) => line.includes('onInvalid threw')))
})

test('Ktor-compatible transformers with short keys log their warning at registration', async (t) => {
  const { lines, stream } = logSink()
  const { digest } = await import('../lib/index.js')
  const login = cookieSession('LOGIN', Type.Object({ a: Type.String() }), { transformers: [digest()] })
  const app = await buildApp(t, [login], { fastify: { logger: { level: 'info', stream } } })
  await app.ready()
  const warnings = lines.map((line) => JSON.parse(line)).filter((entry) => entry.level === 40)
  t.ok(warnings.length >= 1)
  t.match(warnings[0].msg, /not a MAC/i)
})
