// Security checklist (SECURITY.md): parsing what clients send, and payloads that must read back exactly.
import { readdirSync, readFileSync } from 'node:fs'
import { isSafe } from 'redos-detector'
import { test } from 'tap'
import Type from 'typebox'
import ts from 'typescript'
import { cookieSession, digest, hex, ktorSerializer, memoryStorage, messageAuthentication } from '../lib/index.js'
import { sessionCookie } from '../testing/index.js'
import { buildApp, cookiesOf, KEY_HEX } from './helpers/app.js'

test('a long number in a Ktor-format cookie that fails the grammar reads as absent', async (t) => {
  const schema = Type.Object({ ratio: Type.Number() })
  const plain = cookieSession('PLAIN', schema, { envelope: false, serializer: ktorSerializer(schema) })
  const salted = cookieSession('DIGESTED', Type.Object({ ratio: Type.Number() }), { envelope: false, transformers: [digest()], serializer: ktorSerializer(schema) })
  const app = await buildApp(t, [plain, salted])
  app.get('/', async (request) => ({ a: request.sessions.get(plain), b: request.sessions.get(salted) }))
  const digits = '1'.repeat(15_000)
  for (const [name, text] of [['PLAIN', `ratio=%23f${digits}x`], ['PLAIN', `ratio=%23bd${digits}x`], ['DIGESTED', digest().transformWrite(`ratio=%23f${digits}x`)]] as const) {
    const res = await app.inject({ url: '/', headers: { cookie: `${name}=${encodeURIComponent(text)}` } })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { a: null, b: null }, `${name} ${text.slice(0, 12)}…: the value reads as absent`)
  }
})

// Linear time is checked without a clock: redos-detector counts the backtracks a pattern can take
// on the worst input, and reports `infinite` when that count grows with the input's length (the
// quadratic number grammar of old took half a second on 15,000 digits).
const SHIPPED = ['lib', 'storages', 'transformers', 'testing']
// Runs on the plugin's own error message, at set(), never on what a client sends.
const ALLOWED = new Set(['/ where .*$/'])

function shippedPatterns (): Array<{ file: string, literal: string }> {
  const found: Array<{ file: string, literal: string }> = []
  for (const dir of SHIPPED) {
    for (const name of readdirSync(new URL(`../${dir}/`, import.meta.url)).filter((name) => name.endsWith('.ts'))) {
      const file = `${dir}/${name}`
      const source = ts.createSourceFile(file, readFileSync(new URL(`../${file}`, import.meta.url), 'utf8'), ts.ScriptTarget.ES2022, true)
      const visit = (node: ts.Node): void => {
        if (ts.isRegularExpressionLiteral(node)) found.push({ file, literal: node.text })
        ts.forEachChild(node, visit)
      }
      visit(source)
    }
  }
  return found
}

function backtracks (literal: string): string {
  const end = literal.lastIndexOf('/')
  const { safe, score } = isSafe(new RegExp(literal.slice(1, end), literal.slice(end + 1)))
  return safe && !score.infinite ? `at most ${score.value}` : 'growing with the input'
}

test('every regular expression the package ships backtracks a bounded number of times, whatever the input length', async (t) => {
  t.equal(backtracks(String.raw`/^[+-]?\d+\.?\d*$/`), 'growing with the input', 'the check sees the quadratic number grammar of old')
  const patterns = shippedPatterns()
  t.ok(patterns.some(({ literal }) => literal.includes(String.raw`(?:\d+(?:\.\d*)?|\.\d+)`)), 'the number grammar is among them')
  const unbounded = patterns.filter(({ literal }) => !ALLOWED.has(literal) && backtracks(literal) === 'growing with the input')
  t.same(unbounded, [], `${patterns.length} patterns checked`)
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

test('keys that read back as absent (__proto__, constructor, prototype) are refused at set, so set and get agree', async (t) => {
  const Bag = Type.Object({ bag: Type.Record(Type.String(), Type.Integer()) })
  const client = cookieSession('BAG', Bag, { transformers: [messageAuthentication({ key: hex(KEY_HEX) })] })
  const server = cookieSession('STORED', Type.Object({ bag: Type.Record(Type.String(), Type.Integer()) }), { storage: memoryStorage() })
  const app = await buildApp(t, [client, server])
  app.post('/set', async (request) => {
    const { key, provider } = request.body as { key: string, provider: 'BAG' | 'STORED' }
    // JSON.parse makes an own property even of "__proto__", as a request body would.
    const bag = JSON.parse(`{${JSON.stringify(key)}:1}`) as Record<string, number>
    try {
      request.sessions.set(provider, { bag })
      return { set: true }
    } catch (error) {
      return { set: false, code: (error as { code?: string }).code }
    }
  })
  app.get('/get', async (request) => ({ bag: request.sessions.get(client), stored: request.sessions.get(server) }))
  for (const provider of ['BAG', 'STORED'] as const) {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const res = await app.inject({ method: 'POST', url: '/set', payload: { key, provider } })
      t.same(res.json(), { set: false, code: 'FST_SESSIONS_INVALID_PAYLOAD' }, `${provider} ${key}: refused at set`)
      t.equal(res.headers['set-cookie'], undefined, `${provider} ${key}: nothing is sent`)
    }
    const res = await app.inject({ method: 'POST', url: '/set', payload: { key: 'proto', provider } })
    t.same(res.json(), { set: true }, `${provider}: an ordinary key is set`)
    const back = await app.inject({ url: '/get', headers: { cookie: cookiesOf(res.headers['set-cookie']) } })
    t.same(back.json()[provider === 'BAG' ? 'bag' : 'stored'], { bag: { proto: 1 } }, `${provider}: and reads back`)
  }
})

test('a deeply nested value on a recursive schema that a client can write reads as absent, never a 500', async (t) => {
  const Tree = Type.Cyclic({ Node: Type.Array(Type.Ref('Node')) }, 'Node')
  const Payload = Type.Object({ tree: Tree })
  const plain = cookieSession('PLAIN', Payload, { envelope: false })
  const salted = cookieSession('SALTED', Type.Object({ tree: Tree }), { envelope: false, transformers: [digest()] })
  const reasons: string[] = []
  const app = await buildApp(t, [plain, salted], { onInvalid: (reason) => { reasons.push(reason) } })
  app.get('/', async (request) => ({ a: request.sessions.get(plain), b: request.sessions.get(salted) }))
  const deep = `{"tree":${'['.repeat(20_000)}${']'.repeat(20_000)}}`
  for (const [name, value] of [['PLAIN', deep], ['SALTED', digest().transformWrite(deep)]] as const) {
    const res = await app.inject({ url: '/', headers: { cookie: `${name}=${encodeURIComponent(value)}` } })
    t.equal(res.statusCode, 200, `${name}: answered`)
    t.same(res.json(), { a: null, b: null }, `${name}: reads as absent`)
  }
  t.same(reasons, ['schema', 'schema'], 'reported as a schema failure')
  const shallow = await app.inject({ url: '/', headers: { cookie: `PLAIN=${encodeURIComponent('{"tree":[[],[[]]]}')}` } })
  t.same(shallow.json(), { a: { tree: [[], [[]]] }, b: null }, 'a reasonable tree still reads')
})

test('after a schema change, clear() deletes the stored record that no longer fits, so a rollback cannot revive it', async (t) => {
  const storage = memoryStorage()
  const v1 = cookieSession('LOGIN', Type.Object({ user: Type.String() }), { storage })
  const v2 = cookieSession('LOGIN', Type.Object({ user: Type.String(), role: Type.String() }), { storage })
  const before = await buildApp(t, [v1])
  before.get('/', async (request) => ({ s: request.sessions.get(v1) }))
  const cookie = await sessionCookie(v1, { user: 'alice' })
  t.same((await before.inject({ url: '/', headers: { cookie } })).json(), { s: { user: 'alice' } }, 'a session of the old schema')

  const after = await buildApp(t, [v2])
  after.get('/logout', async (request) => { request.sessions.clear(v2); return { s: request.sessions.get(v2) } })
  const logout = await after.inject({ url: '/logout', headers: { cookie } })
  t.same(logout.json(), { s: null }, 'the old record does not fit the new schema')
  t.ok(logout.cookies.some((c) => c.maxAge === 0), 'the cookie is expired')

  t.same((await before.inject({ url: '/', headers: { cookie } })).json(), { s: null }, 'rolled back, the old cookie finds nothing')
})
