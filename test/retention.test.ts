// What the per-provider caches keep must be their own strings. In V8 a substring is a view of the
// string it was cut from: a cookie value cut from a Cookie header keeps the whole header, every
// other cookie included, for as long as a cache keeps the value, and the caches' bounds (counted in
// characters of what they keep) do not see it. Real requests over HTTP: Node's parser makes each
// header one string, as in production.
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import { test } from 'tap'
import Type from 'typebox'
import { cookieSession, hex, memoryStorage, messageAuthentication } from '../lib/index.js'
import type { Provider } from '../lib/provider.js'
import { buildApp, cookiesOf, KEY_HEX } from './helpers/app.js'
import { heapMB } from './helpers/heap.js'

const REQUESTS = 1000
// Another cookie of 12 KB on each request (Node's header limit is 16 KB): 1000 of them kept would
// be ~12 MB.
const PADDING = 'pad=' + 'x'.repeat(12 * 1024)
const LIMIT_MB = 3

function get (port: number, agent: http.Agent, cookie: string): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/', agent, headers: { cookie } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    }).on('error', reject)
  })
}

type App = Awaited<ReturnType<typeof buildApp>>

/**
 * Serves `app` over HTTP, warms it up, then sends `count` requests, the i-th with `cookieOf(i)`.
 * Returns how many answered 200 with `bodyOf(i)`, and by how many MB the heap grew meanwhile.
 */
async function loadOverHttp (
  t: Parameters<typeof buildApp>[0], app: App, count: number,
  cookieOf: (i: number) => string, bodyOf: (i: number) => string
): Promise<{ answered: number, grown: number }> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  t.teardown(() => agent.destroy())
  await get(port, agent, 'warm=up')
  const before = heapMB()
  let answered = 0
  for (let i = 0; i < count; i++) {
    const res = await get(port, agent, cookieOf(i))
    if (res.status === 200 && res.body === bodyOf(i)) answered++
  }
  return { answered, grown: heapMB() - before }
}

test('the ids a server-side provider remembers do not keep whole Cookie headers alive', async (t) => {
  const login = cookieSession('SID', Type.Object({ n: Type.Number() }), { storage: memoryStorage() })
  const app = await buildApp(t, [login])
  app.get('/', async (request) => ({ s: request.sessions.get(login) }))
  // Well-formed ids the storage does not know: read as absent, but their storage keys are remembered.
  const { answered, grown } = await loadOverHttp(t, app, REQUESTS,
    (i) => `${PADDING}${i}; SID=${randomBytes(32).toString('base64url')}`, () => '{"s":null}')
  t.equal(answered, REQUESTS, 'every request answered, with no session')
  t.ok(grown < LIMIT_MB, `the heap grew by ${grown.toFixed(2)} MB for ${REQUESTS} requests with 12 KB Cookie headers`)
})

test('long ids that a custom idPattern allows are remembered within a bound counted in characters', async (t) => {
  const login = cookieSession('SID', Type.Object({ n: Type.Number() }), {
    storage: memoryStorage(),
    identity: () => randomBytes(3000).toString('hex'),
    idPattern: /^[0-9a-f]{6000}$/,
  })
  const app = await buildApp(t, [login])
  app.get('/', async (request) => ({ s: request.sessions.get(login) }))
  // 3000 unknown ids of 6000 characters: 18 MB of ids, if the cache counted entries.
  const { answered, grown } = await loadOverHttp(t, app, 3000, () => `SID=${randomBytes(3000).toString('hex')}`, () => '{"s":null}')
  t.equal(answered, 3000, 'every request answered, with no session')
  t.ok(grown < 8, `the heap grew by ${grown.toFixed(2)} MB`)
})

test('the client-side values a provider remembers do not keep whole Cookie headers alive', async (t) => {
  const schema = () => Type.Object({ n: Type.Number() })
  const key = hex(KEY_HEX)
  // The values come from another app (another process, say), so the reading app verifies each.
  const writer = cookieSession('CART', schema(), { transformers: [messageAuthentication({ key })] })
  const reader = cookieSession('CART', schema(), { transformers: [messageAuthentication({ key })] })
  const writing = await buildApp(t, [writer])
  writing.get('/:n', async (request) => {
    request.sessions.set(writer, { n: Number((request.params as { n: string }).n) })
    return 'ok'
  })
  const values: string[] = []
  for (let i = 0; i < REQUESTS; i++) values.push(cookiesOf((await writing.inject(`/${i}`)).headers['set-cookie']))
  const reading = await buildApp(t, [reader])
  reading.get('/', async (request) => ({ s: request.sessions.get(reader) }))
  const { answered, grown } = await loadOverHttp(t, reading, REQUESTS,
    (i) => `${PADDING}${i}; ${values[i] as string}`, (i) => `{"s":{"n":${i}}}`)
  t.equal(answered, REQUESTS, 'every value read back')
  t.ok(grown < LIMIT_MB, `the heap grew by ${grown.toFixed(2)} MB for ${REQUESTS} requests with 12 KB Cookie headers`)
})

test('the values a client-side provider remembers stay within its 4 MiB, counted as heap', async (t) => {
  const cart = cookieSession('CART', Type.Object({ username: Type.String(), count: Type.Integer() }), {
    transformers: [messageAuthentication({ key: hex(KEY_HEX) })],
  }) as unknown as Provider
  const before = heapMB()
  // 40 000 writes, each remembered: far more than the bound holds.
  for (let i = 0; i < 40_000; i++) {
    cart.seal(cart.serialize({ username: `user ${i}`, count: i }), cart.stamp(null, Date.now()))
  }
  const grown = heapMB() - before
  t.ok(grown < 4 * 1.048576 * 1.15, `the heap grew by ${grown.toFixed(2)} MB`)
  t.ok(grown > 2, 'and values are remembered')
  // The provider must outlive the measure, or its memory is collected with it.
  t.equal(cart.name, 'CART')
})
