// Fuzzing chunked cookies (cookie.chunks): random Cookie headers with chunk names, made from real
// chunk sets by dropping, swapping, cutting, altering, repeating and inventing chunks and frames,
// sent to a real app. For every request: no 5xx, `get` is null or exactly the value that was set,
// and a request that only reads sends no Set-Cookie. Deterministic seed, as test/fuzz.test.ts.
import fc from 'fast-check'
import type { FastifyInstance } from 'fastify'
import { test } from 'tap'
import Type from 'typebox'
import { cookieSession, encrypt, hex, ktorEncrypt, messageAuthentication, type SessionProvider, type SessionTransportTransformer } from '../lib/index.js'
import { buildApp, cookiesOf, KEY_HEX, setCookies } from './helpers/app.js'

const SEED = process.env['FUZZ_SEED'] === undefined ? 0xc4a1 : Number(process.env['FUZZ_SEED'])
const RUNS = process.env['FUZZ_RUNS'] === undefined ? 400 : Number(process.env['FUZZ_RUNS'])
const key = hex(KEY_HEX)
const Text = () => Type.Object({ text: Type.String() })
type TextProvider = SessionProvider<{ text: string }>

const setups: Array<[string, () => SessionTransportTransformer[], 'uri' | 'base64' | 'dquotes' | 'raw']> = [
  ['messageAuthentication/uri', () => [messageAuthentication({ key })], 'uri'],
  ['encrypt/base64', () => [encrypt({ key })], 'base64'],
  ['encrypt/raw', () => [encrypt({ key })], 'raw'],
  ['ktorEncrypt/dquotes', () => [ktorEncrypt({ encryptionKey: key.subarray(0, 16), signKey: key })], 'dquotes'],
  ['none/uri', () => [], 'uri'],
]

/** A chunk set as name/value pairs, and what it is made of. */
type Pairs = Array<[string, string]>

function pairsOf (setCookie: string | string[] | undefined): Pairs {
  return setCookies(setCookie).map((line) => {
    const pair = line.split(';')[0] as string
    const eq = pair.indexOf('=')
    return [pair.slice(0, eq), pair.slice(eq + 1)]
  })
}

const NAMES = ['C', 'C.1', 'C.2', 'C.3', 'C.4', 'C.9', 'C.0', 'C.01', 'C.10', 'C.', 'C.x', 'CC', 'c.1', ' C.1', 'C.1 ']

/** Mutations of a real chunk set: each keeps the header a header, whatever it does to the chunks. */
function mutation (pairs: Pairs): fc.Arbitrary<Pairs> {
  const index = fc.nat({ max: Math.max(0, pairs.length - 1) })
  const piece = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.stringMatching(/^!\d{0,3}\.?[A-Za-z0-9_-]{0,9}[^;]{0,20}$/),
    fc.constantFrom('!', '!1.', '!2.AAAAAAAA', '!10.AAAAAAAA', '!99.', '"', '""', '%', '%E', '=', '')
  // eslint-disable-next-line no-control-regex -- what a header cannot carry is left out
  ).map((s) => s.replace(/[;\x00-\x1f\x7f-\uffff]/g, ''))
  return fc.oneof(
    index.map((i) => pairs.filter((_, j) => j !== i)),
    fc.tuple(index, index).map(([i, j]) => {
      const out: Pairs = pairs.map(([n, v]) => [n, v])
      const a = out[i] as [string, string]
      const b = out[j] as [string, string]
      ;[a[1], b[1]] = [b[1], a[1]]
      return out
    }),
    fc.tuple(index, fc.nat(), fc.nat(5000)).map(([i, at, length]) => pairs.map(([n, v], j): [string, string] => j === i ? [n, v.slice(0, at % (v.length + 1)) + v.slice(at % (v.length + 1) + length % 7)] : [n, v])),
    fc.tuple(index, fc.nat(), fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c))).map(([i, at, c]) => pairs.map(([n, v], j): [string, string] => {
      const k = at % Math.max(1, v.length)
      return j === i ? [n, v.slice(0, k) + (c === ';' ? ',' : c) + v.slice(k + 1)] : [n, v]
    })),
    fc.tuple(fc.constantFrom(...NAMES), piece, fc.nat(pairs.length)).map(([n, v, at]) => [...pairs.slice(0, at), [n, v] as [string, string], ...pairs.slice(at)]),
    fc.shuffledSubarray(pairs, { minLength: 0 }),
    fc.array(fc.tuple(fc.constantFrom(...NAMES), piece), { maxLength: 6 })
  )
}

async function appFor (t: Parameters<typeof buildApp>[0], p: TextProvider): Promise<FastifyInstance> {
  const app = await buildApp(t, [p])
  app.get('/set', async (request) => { request.sessions.set(p, { text: (request.query as { text: string }).text }); return 'ok' })
  app.get('/', async (request) => ({ got: request.sessions.get(p) }))
  return app
}

test('fuzz: random Cookie headers with chunk names never give a 500, a wrong value or a write', async (t) => {
  for (const [label, transformers, encoding] of setups) {
    const p = cookieSession('C', Text(), { transformers: transformers(), cookie: { encoding, chunks: 5 } })
    const app = await appFor(t, p)
    // Real chunk sets to start from: one, two and several cookies (the texts hold no quotes for dquotes).
    const sets: Array<[string, Pairs]> = []
    for (const size of [10, 3000, 9000]) {
      const text = 'ab c,'.repeat(size / 5)
      const res = await app.inject({ url: '/set', query: { text } })
      t.equal(res.statusCode, 200, `${label}: set ${size}`)
      sets.push([text, pairsOf(res.headers['set-cookie'])])
    }
    let sessions = 0
    await fc.assert(fc.asyncProperty(
      fc.nat(sets.length - 1).chain((i) => mutation((sets[i] as [string, Pairs])[1]).map((pairs) => [i, pairs] as const)),
      async ([i, pairs]) => {
        const cookie = pairs.map(([n, v]) => `${n}=${v}`).join('; ')
        const res = await app.inject({ url: '/', headers: cookie === '' ? {} : { cookie } })
        if (res.statusCode !== 200) throw new Error(`${res.statusCode} for ${cookie.slice(0, 200)}`)
        if (setCookies(res.headers['set-cookie']).length !== 0) throw new Error('a read wrote a cookie')
        const got = (res.json() as { got: { text: string } | null }).got
        if (got !== null) {
          sessions++
          // A session is read only when it is some real value (the transformers vouch for it).
          if (label !== 'none/uri' && !sets.some(([text]) => text === got.text)) throw new Error('a forged value was read')
        }
      }
    ), { seed: SEED, numRuns: RUNS })
    t.pass(`${label}: ${RUNS} headers, ${sessions} read as a session`)
    // The untouched sets read back: the property is not vacuous.
    for (const [text, pairs] of sets) {
      const res = await app.inject({ url: '/', headers: { cookie: cookiesOf(pairs.map(([n, v]) => `${n}=${v}`)) } })
      t.same(res.json(), { got: { text } }, `${label}: an untouched set of ${pairs.length} reads`)
    }
    await app.close()
  }
})
