// cookie.chunks (issue 18): a client-side value too large for one cookie is split over NAME,
// NAME.1, ...; every Set-Cookie line stays within 4096 bytes; the chunks read back as one value
// or not at all; chunks no longer needed are expired in the same response.
import { Writable } from 'node:stream'
import { test } from 'tap'
import Type from 'typebox'
import type { FastifyInstance } from 'fastify'
import {
  cookieSession, digest, encrypt, headerSession, hex, ktorEncrypt, memoryStorage, messageAuthentication,
  type SessionProvider, type SessionTransportTransformer,
} from '../lib/index.js'
import { frame } from '../lib/cookie-chunks.js'
import { buildApp, cookiesOf, KEY_HEX, parseSetCookie, setCookies } from './helpers/app.js'

const key = hex(KEY_HEX)
const Text = () => Type.Object({ text: Type.String() })
type TextProvider = SessionProvider<{ text: string }>
const big = (name = 'BIG', chunks = 4, cookie = {}) =>
  cookieSession(name, Text(), { transformers: [messageAuthentication({ key })], cookie: { chunks, ...cookie } })

/** An app whose `/set?size=n` sets a session of n characters, `/` reads it, `/clear` clears it. */
async function textApp (t: Parameters<typeof buildApp>[0], providers: TextProvider[], reasons: string[] = []): Promise<FastifyInstance> {
  const app = await buildApp(t, providers, { onInvalid: (reason) => { reasons.push(reason) } })
  app.get('/set', async (request) => {
    const { size, fill } = request.query as { size: string, fill?: string }
    for (const p of providers) request.sessions.set(p, { text: (fill ?? 'x').repeat(Number(size)) })
    return 'ok'
  })
  app.get('/', async (request) => providers.map((p) => request.sessions.get(p)?.text.length ?? null))
  app.get('/clear', async (request) => { for (const p of providers) request.sessions.clear(p); return 'ok' })
  return app
}

/**
 * What `/` answers for `cookie` in `app` (which may know the value it wrote), and in a fresh app
 * with the providers made again, which never saw it and so verifies every chunk.
 */
async function readTwice (t: Parameters<typeof buildApp>[0], app: FastifyInstance, make: () => TextProvider[], cookie: string): Promise<unknown[]> {
  const cold = await textApp(t, make())
  const warm = (await app.inject({ url: '/', headers: { cookie } })).json()
  return [warm, (await cold.inject({ url: '/', headers: { cookie } })).json()]
}

function names (lines: string[]): string[] {
  return lines.map((line) => parseSetCookie(line).name as string)
}

/** The Cookie header of a response's live cookies, as a map for editing. */
function jar (setCookie: string | string[] | undefined): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of setCookies(setCookie)) {
    const c = parseSetCookie(line)
    if (c['max-age'] !== '0') out.set(c.name as string, c.value as string)
  }
  return out
}

function header (cookies: Map<string, string>): string {
  return [...cookies].map(([name, value]) => `${name}=${value}`).join('; ')
}

test('a 10 KB session is split over BIG, BIG.1, BIG.2 and reads back whole', async (t) => {
  const p = big()
  const app = await textApp(t, [p])
  const res = await app.inject('/set?size=10000')
  const lines = setCookies(res.headers['set-cookie'])
  t.same(names(lines), ['BIG', 'BIG.1', 'BIG.2'])
  for (const line of lines) t.ok(Buffer.byteLength(line) <= 4096, `${Buffer.byteLength(line)} bytes`)
  t.same(await readTwice(t, app, () => [big()], cookiesOf(res.headers['set-cookie'])), [[10000], [10000]])
})

test('a chunked value this process wrote reads back without being verified again', async (t) => {
  const mac = messageAuthentication({ key })
  let verified = 0
  const counting: SessionTransportTransformer = {
    transformWrite: (value) => mac.transformWrite(value),
    transformRead: (value) => { verified++; return mac.transformRead(value) },
  }
  const p = cookieSession('BIG', Text(), { transformers: [counting], cookie: { chunks: 4 } })
  const app = await textApp(t, [p])
  const cookie = cookiesOf((await app.inject('/set?size=10000')).headers['set-cookie'])
  t.same((await app.inject({ url: '/', headers: { cookie } })).json(), [10000])
  t.equal(verified, 0, 'known by its chunks: no MAC, no digest')
  const other = await textApp(t, [cookieSession('BIG', Text(), { transformers: [counting], cookie: { chunks: 4 } })])
  t.same((await other.inject({ url: '/', headers: { cookie } })).json(), [10000])
  t.equal(verified, 1, 'another process verifies it once')
})

test('every whole Set-Cookie line stays within 4096 bytes, long attributes included', async (t) => {
  const make = () => big('S', 10, { secure: true, domain: 'example.com', path: '/' + 'p'.repeat(300), partitioned: true, priority: 'high' })
  const app = await textApp(t, [make()])
  let most = 0
  // é is six bytes as encoded: up to ten chunks of about 3.5 KB.
  for (let size = 500; size <= 5700; size += 397) {
    const res = await app.inject(`/set?size=${size}&fill=%C3%A9`)
    t.equal(res.statusCode, 200)
    const lines = setCookies(res.headers['set-cookie'])
    for (const line of lines) most = Math.max(most, Buffer.byteLength(line))
    t.ok(lines.every((line) => Buffer.byteLength(line) <= 4096 && line.includes('; Secure') && line.includes('; Partitioned')), `size ${size}: ${lines.length} lines`)
    t.same(await readTwice(t, app, () => [make()], cookiesOf(res.headers['set-cookie'])), [[size], [size]], `size ${size} reads back`)
  }
  t.ok(most > 3900, `the lines are filled (${most} bytes)`)
})

test('a value that fits one cookie is written as with chunks: 1, in one line and unframed', async (t) => {
  const plain = (chunks: number) => cookieSession('P', Text(), {
    envelope: false, transformers: [messageAuthentication({ key })], cookie: { chunks },
  })
  const one = await textApp(t, [plain(1)])
  const three = await textApp(t, [plain(3)])
  const a = setCookies((await one.inject('/set?size=100')).headers['set-cookie'])
  const b = setCookies((await three.inject('/set?size=100')).headers['set-cookie'])
  t.equal(b.length, 1)
  t.equal(b[0]?.split(';')[0], a[0]?.split(';')[0], 'the same name=value')
  // And a cookie written before chunks were turned on reads.
  t.same((await three.inject({ url: '/', headers: { cookie: cookiesOf(a) } })).json(), [100])
})

test('a raw value that starts as a frame does is framed itself, small or large, and reads back', async (t) => {
  const bang = () => cookieSession('R', Text(), {
    envelope: false,
    serializer: { serialize: (v) => '!' + v.text, deserialize: (text) => ({ text: text.slice(1) }) },
    transformers: [{ transformRead: (v) => v, transformWrite: (v) => v }],
    cookie: { encoding: 'raw', chunks: 3 },
  })
  const app = await textApp(t, [bang()])
  for (const [size, count] of [[10, 1], [3000, 2]] as const) {
    const res = await app.inject(`/set?size=${size}&fill=2.`)
    const lines = setCookies(res.headers['set-cookie'])
    t.equal(lines.length, count)
    t.ok(new RegExp(`^!${count}\\.[A-Za-z0-9_-]{8}!2\\.`).test(parseSetCookie(lines[0] as string).value as string), 'framed, count first')
    t.same(await readTwice(t, app, () => [bang()], cookiesOf(res.headers['set-cookie'])), [[size * 2], [size * 2]])
  }
})

test('a missing chunk makes the session absent, reported as malformed', async (t) => {
  const reasons: string[] = []
  const app = await textApp(t, [big()], reasons)
  const cookies = jar((await app.inject('/set?size=10000')).headers['set-cookie'])
  cookies.delete('BIG.1')
  const res = await app.inject({ url: '/', headers: { cookie: header(cookies) } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), [null])
  t.same(reasons, ['malformed'])
})

test('reordered, altered or inserted chunks make the session absent, never a 500', async (t) => {
  const reasons: string[] = []
  const app = await textApp(t, [big()], reasons)
  const cookies = jar((await app.inject('/set?size=5000&fill=ab')).headers['set-cookie'])
  t.equal(cookies.size, 3)
  const [b0, b1, b2] = ['BIG', 'BIG.1', 'BIG.2'].map((name) => cookies.get(name) ?? '') as [string, string, string]
  const cases: Record<string, string> = {
    reordered: `BIG=${b0}; BIG.1=${b2}; BIG.2=${b1}`,
    altered: `BIG=${b0}; BIG.1=${b1.slice(0, 100)}${b1[100] === 'a' ? 'b' : 'a'}${b1.slice(101)}; BIG.2=${b2}`,
    inserted: `BIG=${b0}; BIG.1=${b1.slice(0, 50)}; BIG.2=${b1.slice(50)}; BIG.3=${b2}`,
    truncated: `BIG=${b0.slice(0, 8)}; BIG.1=${b1}; BIG.2=${b2}`,
    'count past ten': `BIG=!11${b0.slice(2)}; BIG.1=${b1}; BIG.2=${b2}`,
    'count zero': `BIG=!0${b0.slice(2)}`,
    'bare mark': 'BIG=!',
  }
  for (const [name, cookie] of Object.entries(cases)) {
    const res = await app.inject({ url: '/', headers: { cookie } })
    t.equal(res.statusCode, 200, name)
    t.same(res.json(), [null], name)
    t.equal(reasons.length, Object.keys(cases).indexOf(name) + 1, `${name} is reported`)
  }
  t.same(reasons, Array(7).fill('malformed'), 'each reported to onInvalid')
})

test('chunks rebuilt with a valid frame around changed content still fail the transformers', async (t) => {
  const reasons: string[] = []
  const app = await textApp(t, [big()], reasons)
  const cookies = jar((await app.inject('/set?size=10000')).headers['set-cookie'])
  const b0 = cookies.get('BIG') as string
  const body = b0.slice(b0.indexOf('.') + 9)
  const b1 = cookies.get('BIG.1') as string
  const forged = frame([body, b1.replace('x', 'y'), cookies.get('BIG.2') as string])
  const res = await app.inject({ url: '/', headers: { cookie: forged.map((v, i) => `BIG${i === 0 ? '' : '.' + i}=${v}`).join('; ') } })
  t.same(res.json(), [null])
  t.same(reasons, ['bad-signature'])
})

test('leftover chunks from an older, larger value are ignored on read', async (t) => {
  const app = await textApp(t, [big()])
  const large = jar((await app.inject('/set?size=14000')).headers['set-cookie'])
  t.equal(large.size, 4)
  const small = jar((await app.inject('/set?size=100')).headers['set-cookie'])
  const middle = jar((await app.inject('/set?size=5000')).headers['set-cookie'])
  t.equal(middle.size, 2)
  // The browser kept chunks the newer value does not use (a response lost on the way).
  const stale = (newer: Map<string, string>) => header(new Map([...large, ...newer]))
  t.same(await readTwice(t, app, () => [big()], stale(small)), [[100], [100]])
  t.same(await readTwice(t, app, () => [big()], stale(middle)), [[5000], [5000]])
})

test('shrinking expires the chunks no longer needed in the same response', async (t) => {
  const app = await textApp(t, [big()])
  const cookie = cookiesOf((await app.inject('/set?size=14000')).headers['set-cookie'])
  const toTwo = setCookies((await app.inject({ url: '/set?size=5000', headers: { cookie } })).headers['set-cookie'])
  t.same(toTwo.map((line) => [parseSetCookie(line).name, parseSetCookie(line)['max-age'] === '0']),
    [['BIG', false], ['BIG.1', false], ['BIG.2', true], ['BIG.3', true]])
  const toOne = setCookies((await app.inject({ url: '/set?size=10', headers: { cookie } })).headers['set-cookie'])
  t.same(names(toOne), ['BIG', 'BIG.1', 'BIG.2', 'BIG.3'])
  t.same(toOne.slice(1).map((line) => parseSetCookie(line).value), ['', '', ''])
  t.ok(toOne.slice(1).every((line) => line.includes('; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/')))
})

test('clearing expires the cookie and every chunk the client holds', async (t) => {
  const app = await textApp(t, [big()])
  const cookie = cookiesOf((await app.inject('/set?size=10000')).headers['set-cookie'])
  const lines = setCookies((await app.inject({ url: '/clear', headers: { cookie } })).headers['set-cookie'])
  t.same(names(lines), ['BIG', 'BIG.1', 'BIG.2'])
  t.ok(lines.every((line) => parseSetCookie(line)['max-age'] === '0'))
})

test('FST_SESSIONS_TOO_LARGE when even cookie.chunks cookies cannot hold the value, without the value', async (t) => {
  const p = big('BIG', 2)
  const app = await buildApp(t, [p])
  app.get('/', async (request) => {
    try {
      request.sessions.set(p, { text: 'secret'.repeat(2000) })
      return 'set'
    } catch (error) {
      const { code, message } = error as { code: string, message: string }
      return { code, message }
    }
  })
  const { code, message } = (await app.inject('/')).json()
  t.equal(code, 'FST_SESSIONS_TOO_LARGE')
  t.match(message, /"BIG".* \d{5} bytes .*needs 4 cookies.*cookie\.chunks \(2\).*raise cookie\.chunks.*server-side storage/)
  t.notMatch(message, /secret/)
})

test('cookie.chunks is checked when the provider is made', async (t) => {
  for (const chunks of [0, -1, 11, 1.5, 100]) {
    t.throws(() => big('B', chunks), { code: 'FST_SESSIONS_OPTIONS', message: /cookie\.chunks must be a whole number from 1 to 10/ }, String(chunks))
  }
  t.throws(() => big('B', '2' as unknown as number), { code: 'FST_SESSIONS_OPTIONS' })
  t.throws(() => cookieSession('B', Text(), { storage: memoryStorage(), cookie: { chunks: 2 } }),
    { code: 'FST_SESSIONS_OPTIONS', message: /client-side/ })
  t.throws(() => big('B', 3, { path: '/' + 'p'.repeat(3700) }), { code: 'FST_SESSIONS_OPTIONS', message: /bytes per chunk/ })
  t.doesNotThrow(() => cookieSession('B', Text(), { storage: memoryStorage(), cookie: { chunks: 1 } }))
})

test('registration warns when the chunks could pass the server\'s request header limit', async (t) => {
  const warnings = async (chunks: number[], http?: { maxHeaderSize: number }): Promise<string[]> => {
    const lines: string[] = []
    const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
    const providers = chunks.map((n, i) => big(`S${i}`, n))
    const app = await buildApp(t, providers, { fastify: { logger: { level: 'warn', stream }, ...(http === undefined ? {} : { http }) } })
    await app.ready()
    return lines.filter((line) => line.includes('cookie.chunks'))
  }
  t.same(await warnings([3]), [], 'three chunks stay within Node\'s 16 KiB')
  const [line] = await warnings([3, 2])
  t.match(line, /reach 20480 bytes.*header limit \(16384 bytes\).*431.*maxHeaderSize.*lower cookie\.chunks/)
  t.same(await warnings([10], { maxHeaderSize: 65536 }), [], 'a raised limit is read from the server')
})

test('a provider named like another one\'s chunk is refused at registration', async (t) => {
  const other = cookieSession('BIG.1', Type.Object({ n: Type.Number() }), { transformers: [messageAuthentication({ key })] })
  await t.rejects(textApp(t, [big(), other as unknown as TextProvider]), { code: 'FST_SESSIONS_DUPLICATE' })
})

const transformers: Record<string, () => SessionTransportTransformer[]> = {
  none: () => [],
  messageAuthentication: () => [messageAuthentication({ key })],
  encrypt: () => [encrypt({ key })],
  ktorEncrypt: () => [ktorEncrypt({ encryptionKey: key.subarray(0, 16), signKey: key })],
  digest: () => [digest()],
  'encrypt after messageAuthentication': () => [messageAuthentication({ key }), encrypt({ key })],
}

test('chunks work with every transformer and every encoding', async (t) => {
  // The payload as bare words with spaces: dquotes quotes it, raw cannot carry it unencrypted.
  const words = { serialize: (v: { text: string }) => v.text, deserialize: (text: string) => ({ text }) }
  let ran = 0
  for (const [label, make] of Object.entries(transformers)) {
    for (const encoding of ['uri', 'base64', 'dquotes', 'raw'] as const) {
      const raw = encoding === 'raw' && (label === 'none' || label === 'digest' || label === 'messageAuthentication')
      const p = () => cookieSession('W', Text(), {
        envelope: false, serializer: words, transformers: make(), cookie: { encoding, chunks: 10 },
      })
      const app = await textApp(t, [p()])
      const fill = raw ? 'word' : 'a%20word,'
      const res = await app.inject(`/set?size=1200&fill=${fill}`)
      const lines = setCookies(res.headers['set-cookie'])
      t.ok(lines.length >= 2 && lines.every((line) => Buffer.byteLength(line) <= 4096), `${label}/${encoding}: ${lines.length} lines`)
      const size = 1200 * (raw ? 4 : 7)
      t.same(await readTwice(t, app, () => [p()], cookiesOf(res.headers['set-cookie'])), [[size], [size]], `${label}/${encoding} reads back`)
      ran++
    }
  }
  t.equal(ran, 24)
})

test('__Host- and __Secure- names: every chunk carries the attributes its prefix demands', async (t) => {
  for (const name of ['__Host-BIG', '__Secure-BIG']) {
    const app = await textApp(t, [big(name, 4)])
    const res = await app.inject('/set?size=10000')
    const lines = setCookies(res.headers['set-cookie'])
    t.same(names(lines), [name, `${name}.1`, `${name}.2`])
    t.ok(lines.every((line) => line.includes('; Secure') && line.includes('; Path=/') && !/; Domain=/i.test(line)))
    t.same(await readTwice(t, app, () => [big(name, 4)], cookiesOf(res.headers['set-cookie'])), [[10000], [10000]])
  }
})

test('several chunked providers at once, with names that start alike', async (t) => {
  const a = big('CART', 4)
  const b = big('CART2', 4)
  const c = big('CART.X', 4)
  const app = await textApp(t, [a, b, c])
  app.get('/shrink', async (request) => { request.sessions.set(b, { text: 'y' }); return 'ok' })
  const res = await app.inject('/set?size=9000')
  t.same(names(setCookies(res.headers['set-cookie'])).sort(),
    ['CART', 'CART.1', 'CART.2', 'CART.X', 'CART.X.1', 'CART.X.2', 'CART2', 'CART2.1', 'CART2.2'])
  t.same(await readTwice(t, app, () => [big('CART', 4), big('CART2', 4), big('CART.X', 4)], cookiesOf(res.headers['set-cookie'])), [[9000, 9000, 9000], [9000, 9000, 9000]])
  // One provider shrinks: only its own chunks are expired.
  const cookie = cookiesOf(res.headers['set-cookie'])
  const lines = setCookies((await app.inject({ url: '/shrink', headers: { cookie } })).headers['set-cookie'])
  t.same(names(lines), ['CART2', 'CART2.1', 'CART2.2'])
})

test('header sessions are unaffected: one header whatever the size, no chunk option', async (t) => {
  const api = headerSession('X-Big', Text(), { transformers: [messageAuthentication({ key })] })
  const cookie = big('BIG', 4)
  const app = await buildApp(t, [api, cookie])
  app.get('/', async (request) => {
    request.sessions.set(api, { text: 'z'.repeat(12000) })
    request.sessions.set(cookie, { text: 'z'.repeat(12000) })
    return 'ok'
  })
  const res = await app.inject('/')
  t.type(res.headers['x-big'], 'string')
  t.ok(String(res.headers['x-big']).length > 12000)
  t.equal(setCookies(res.headers['set-cookie']).length, 4)
  t.throws(() => headerSession('X-Other', Text(), { cookie: { chunks: 2 } } as never), { code: 'FST_SESSIONS_OPTIONS' })
})
