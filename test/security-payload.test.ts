// Security checklist (SECURITY.md): parsing what clients send, and payloads that must read back exactly.
import { test } from 'tap'
import Type from 'typebox'
import { cookieSession, digest, ktorSerializer } from '../lib/index.js'
import { buildApp, cookiesOf } from './helpers/app.js'

test('a long number in a Ktor-format cookie is read in linear time', async (t) => {
  const schema = Type.Object({ ratio: Type.Number() })
  const plain = cookieSession('PLAIN', schema, { envelope: false, serializer: ktorSerializer(schema) })
  const salted = cookieSession('DIGESTED', Type.Object({ ratio: Type.Number() }), { envelope: false, transformers: [digest()], serializer: ktorSerializer(schema) })
  const app = await buildApp(t, [plain, salted])
  app.get('/', async (request) => ({ a: request.sessions.get(plain), b: request.sessions.get(salted) }))
  const digits = '1'.repeat(15_000)
  for (const [name, text] of [['PLAIN', `ratio=%23f${digits}x`], ['PLAIN', `ratio=%23bd${digits}x`], ['DIGESTED', digest().transformWrite(`ratio=%23f${digits}x`)]] as const) {
    const started = performance.now()
    const res = await app.inject({ url: '/', headers: { cookie: `${name}=${encodeURIComponent(text)}` } })
    const ms = performance.now() - started
    t.equal(res.statusCode, 200)
    t.same(res.json(), { a: null, b: null }, 'the value reads as absent')
    // A linear grammar takes well under a millisecond here; the quadratic one, about half a second.
    t.ok(ms < 100, `${name} ${text.slice(0, 12)}…: read in ${ms.toFixed(0)} ms`)
  }
})

test('a long run of digits that is a number reads back, and numbers too large for a double are absent', async (t) => {
  const schema = Type.Object({ ratio: Type.Number() })
  const plain = cookieSession('PLAIN', schema, { envelope: false, serializer: ktorSerializer(schema) })
  const app = await buildApp(t, [plain])
  app.get('/', async (request) => ({ s: request.sessions.get(plain) }))
  const read = async (text: string) => (await app.inject({ url: '/', headers: { cookie: `PLAIN=${encodeURIComponent(text)}` } })).json()
  t.same(await read(`ratio=%23f${'1'.repeat(400)}`), { s: null }, 'beyond a double: absent, not Infinity')
  t.same(await read('ratio=%23f0.5'), { s: { ratio: 0.5 } })
  t.same(await read(`ratio=%23f0.${'0'.repeat(100)}1`), { s: { ratio: 1e-101 } })
})

test('-0 is refused at set or read back as -0, never silently turned into 0', async (t) => {
  const schema = Type.Object({ ratio: Type.Number() })
  const session = cookieSession('S', schema)
  const app = await buildApp(t, [session])
  app.get('/set', async (request) => {
    try {
      request.sessions.set(session, { ratio: -0 })
      return { set: true }
    } catch (error) {
      return { set: false, code: (error as { code?: string }).code }
    }
  })
  app.get('/get', async (request) => {
    const s = request.sessions.get(session)
    return { negativeZero: s !== null && Object.is(s.ratio, -0) }
  })
  const set = await app.inject('/set')
  if (set.json().set === false) {
    t.equal(set.json().code, 'FST_SESSIONS_INVALID_PAYLOAD', 'refused at set')
  } else {
    const back = await app.inject({ url: '/get', headers: { cookie: cookiesOf(set.headers['set-cookie']) } })
    t.same(back.json(), { negativeZero: true }, 'read back as -0')
  }
})
