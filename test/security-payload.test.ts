// Security checklist (SECURITY.md): parsing what clients send, and payloads that must read back exactly.
import { readdirSync, readFileSync } from 'node:fs'
import { isSafe } from 'redos-detector'
import { test } from 'tap'
import Type from 'typebox'
import ts from 'typescript'
import { cookieSession, digest, ktorSerializer } from '../lib/index.js'
import { buildApp, cookiesOf } from './helpers/app.js'

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
