import Fastify from 'fastify'
import { test } from 'tap'
import Type from 'typebox'
import sessions, {
  cookieSession, errorCodes, headerSession, hex, messageAuthentication,
} from '../lib/index.js'
import { buildApp, cookiesOf, KEY_HEX } from './helpers/app.js'

const key = hex(KEY_HEX)
const schema = () => Type.Object({ username: Type.String(), count: Type.Integer() })

function codeOf (fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (error) {
    return (error as { code?: string }).code
  }
  return undefined
}

test('every error is coded, with a status code, and exported', async (t) => {
  const expected: Record<string, number> = {
    FST_SESSIONS_DUPLICATE: 500,
    FST_SESSIONS_UNKNOWN: 500,
    FST_SESSIONS_INVALID_PAYLOAD: 500,
    FST_SESSIONS_TOO_LARGE: 500,
    FST_SESSIONS_ALREADY_SENT: 500,
    FST_SESSIONS_STORAGE_UNAVAILABLE: 503,
    FST_SESSIONS_OPTIONS: 500,
    FST_SESSIONS_CONFLICT: 409,
  }
  t.same(Object.keys(errorCodes).sort(), Object.keys(expected).sort())
  for (const [code, Err] of Object.entries(errorCodes)) {
    const error = new Err('x', 'y')
    t.equal(error.code, code)
    t.equal(error.statusCode, expected[code], code)
    t.ok(error instanceof Error)
  }
})

test('bad provider options fail at once with FST_SESSIONS_OPTIONS and say what to fix', async (t) => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['a name that is not a token', () => cookieSession('bad name', schema()), /token/],
    ['a missing schema', () => cookieSession('S', undefined as never), /schema/],
    ['an unknown option', () => cookieSession('S', schema(), { colour: 'red' } as never), /unknown option "colour"/],
    ['a negative maxAge', () => cookieSession('S', schema(), { maxAge: -1 }), /maxAge/],
    ['a fractional idleTimeout', () => cookieSession('S', schema(), { idleTimeout: 1.5 }), /idleTimeout/],
    ['an unknown encoding', () => cookieSession('S', schema(), { cookie: { encoding: 'rot13' as never } }), /encoding/],
    ['a path with a semicolon', () => cookieSession('S', schema(), { cookie: { path: '/a;b' } }), /path/],
    ['a relative path', () => cookieSession('S', schema(), { cookie: { path: 'a' } }), /path/],
    ['a bad domain', () => cookieSession('S', schema(), { cookie: { domain: 'a b' } }), /domain/],
    ['an attribute that injects', () => cookieSession('S', schema(), { cookie: { extensions: { X: 'a; Domain=evil' } } }), /extensions/],
    ['SameSite=None without Secure', () => cookieSession('S', schema(), { cookie: { sameSite: 'none', secure: false } }), /SameSite=None/],
    ['__Secure- without Secure', () => cookieSession('__Secure-S', schema(), { cookie: { secure: 'auto' } }), /Secure/],
    ['__Host- with a domain', () => cookieSession('__Host-S', schema(), { cookie: { domain: 'example.com' } }), /__Host-/],
    ['__Host- with a path', () => cookieSession('__Host-S', schema(), { cookie: { path: '/app' } }), /__Host-/],
    ['__Host- with secure false', () => cookieSession('__Host-S', schema(), { cookie: { secure: false } }), /Secure/],
    ['identity without idPattern', () => headerSession('S', schema(), { storage: { read: async () => null, write: async () => {}, invalidate: async () => {} }, identity: () => 'x' }), /idPattern/],
    ['identity on a client-side session', () => cookieSession('S', schema(), { identity: () => 'x', idPattern: /x/ }), /server-side/],
    ["concurrency: 'reject' on a storage without compareAndWrite", () => cookieSession('S', schema(), { storage: { read: async () => null, write: async () => {}, invalidate: async () => {} }, concurrency: 'reject' }), /needs a server-side storage with compareAndWrite/],
    ['a storage without invalidate', () => cookieSession('S', schema(), { storage: { read: async () => null, write: async () => {} } as never }), /storage/],
    ['a short MAC key', () => messageAuthentication({ key: Buffer.alloc(31) }), /32 bytes/],
    ['a string key', () => messageAuthentication({ key: 'secret' as never }), /bytes/],
    ['an unknown MAC algorithm', () => messageAuthentication({ key, algorithm: 'md42' }), /algorithm/],
    ['bad hex', () => hex('abc'), /hex/],
    ['non-hex characters', () => hex('zz'), /hex/],
  ]
  for (const [what, fn, message] of cases) {
    let error: { code?: string, message?: string } | undefined
    try { fn() } catch (e) { error = e as typeof error }
    t.equal(error?.code, 'FST_SESSIONS_OPTIONS', what)
    t.match(error?.message, message, what)
  }
})

test('__Host- and __Secure- cookies default to Secure', async (t) => {
  const host = cookieSession('__Host-S', schema(), { transformers: [messageAuthentication({ key })] })
  const app = await buildApp(t, [host])
  app.get('/', async (request) => { request.sessions.set(host, { username: 'a', count: 1 }); return 'ok' })
  t.match((await app.inject('/')).headers['set-cookie'], /; Path=\/; Secure; HttpOnly/)
})

test('bad plugin options stop ready() with FST_SESSIONS_OPTIONS', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['no providers', {}],
    ['an empty provider list', { providers: [] }],
    ['a provider not made by the factories', { providers: [{ name: 'x' }] }],
    ['an unknown option', { providers: [cookieSession('S', schema())], colour: 'red' }],
  ]
  for (const [what, options] of cases) {
    const app = Fastify()
    app.register(sessions, options as never)
    const error = await app.ready().then(() => undefined, (e: { code?: string }) => e)
    t.equal(error?.code, 'FST_SESSIONS_OPTIONS', what)
    await app.close().catch(() => {})
  }
})

test('duplicate names and duplicate schemas fail registration with FST_SESSIONS_DUPLICATE', async (t) => {
  const shared = schema()
  for (const providers of [
    [cookieSession('S', schema()), headerSession('S', schema())],
    [cookieSession('A', shared), cookieSession('B', shared)],
  ]) {
    const app = Fastify()
    app.register(sessions, { providers })
    const error = await app.ready().then(() => undefined, (e: { code?: string, message: string }) => e)
    t.equal(error?.code, 'FST_SESSIONS_DUPLICATE')
    await app.close().catch(() => {})
  }
})

test('options objects are never mutated', async (t) => {
  const cookie = { path: '/x' }
  const options = { cookie, transformers: [messageAuthentication({ key })] }
  const before = JSON.stringify(options)
  const provider = cookieSession('S', schema(), options)
  const pluginOptions = { providers: [provider] }
  const app = await buildApp(t, pluginOptions.providers)
  await app.ready()
  t.equal(JSON.stringify(options), before)
  t.same(Object.keys(cookie), ['path'])
  t.equal(pluginOptions.providers.length, 1)
  const macOptions = { key }
  messageAuthentication(macOptions)
  t.same(Object.keys(macOptions), ['key'])
})

test('set validates against the schema at once: FST_SESSIONS_INVALID_PAYLOAD', async (t) => {
  const login = cookieSession('S', schema(), { transformers: [messageAuthentication({ key })] })
  const app = await buildApp(t, [login])
  app.get('/', async (request) => {
    const codes = [
      codeOf(() => request.sessions.set(login, { username: 'a', count: 'one' } as never)),
      codeOf(() => request.sessions.set(login, { username: 'a' } as never)),
      codeOf(() => request.sessions.set(login, { username: 'a', count: 1.5 })),
    ]
    return { codes, after: request.sessions.get(login) }
  })
  const res = await app.inject('/')
  t.same(res.json(), { codes: Array(3).fill('FST_SESSIONS_INVALID_PAYLOAD'), after: null })
  t.equal(res.headers['set-cookie'], undefined)
})

test('an uncaught invalid payload answers 500 with its code', async (t) => {
  const login = cookieSession('S', schema(), { transformers: [messageAuthentication({ key })] })
  const app = await buildApp(t, [login])
  app.get('/', async (request) => { request.sessions.set(login, { nope: true } as never); return 'ok' })
  const res = await app.inject('/')
  t.equal(res.statusCode, 500)
  t.equal(res.json().code, 'FST_SESSIONS_INVALID_PAYLOAD')
})

test('JSON that cannot carry a value faithfully is refused at set', async (t) => {
  const loose = cookieSession('S', Type.Object({ data: Type.Unknown() }), { transformers: [messageAuthentication({ key })] })
  const app = await buildApp(t, [loose])
  app.get('/', async (request) => {
    const values: unknown[] = [new Date(), new Map(), new Set(), 10n, [1, undefined], Number.NaN, Infinity, () => 1]
    return values.map((data) => codeOf(() => request.sessions.set(loose, { data })))
  })
  t.same((await app.inject('/')).json(), Array(8).fill('FST_SESSIONS_INVALID_PAYLOAD'))
})

test('a client-side value over 4096 bytes is refused at set with FST_SESSIONS_TOO_LARGE', async (t) => {
  const big = cookieSession('BIG', Type.Object({ text: Type.String() }), { transformers: [messageAuthentication({ key })] })
  const app = await buildApp(t, [big])
  app.get('/', async (request) => {
    const small = codeOf(() => request.sessions.set(big, { text: 'x'.repeat(3000) }))
    const large = codeOf(() => request.sessions.set(big, { text: 'x'.repeat(4000) }))
    return { small: small ?? null, large, kept: request.sessions.get(big)?.text.length }
  })
  const res = await app.inject('/')
  t.same(res.json(), { small: null, large: 'FST_SESSIONS_TOO_LARGE', kept: 3000 })
  t.equal(res.cookies.length, 1)
  t.ok(cookiesOf(res.headers['set-cookie']).length <= 4096, 'name=value within 4096 bytes')
})

test('a header session has no size limit', async (t) => {
  const big = headerSession('X-Big', Type.Object({ text: Type.String() }), { transformers: [messageAuthentication({ key })] })
  const app = await buildApp(t, [big])
  app.get('/', async (request) => { request.sessions.set(big, { text: 'x'.repeat(5000) }); return 'ok' })
  const res = await app.inject('/')
  t.equal(res.statusCode, 200)
  t.ok(String(res.headers['x-big']).length > 5000)
})

test('unknown providers and names throw FST_SESSIONS_UNKNOWN', async (t) => {
  const login = cookieSession('S', schema(), { transformers: [messageAuthentication({ key })] })
  const stranger = cookieSession('T', schema(), { transformers: [messageAuthentication({ key })] })
  const app = await buildApp(t, [login])
  app.get('/', async (request) => [
    codeOf(() => request.sessions.get('NOPE')),
    codeOf(() => request.sessions.get(stranger)),
    codeOf(() => request.sessions.set('NOPE', {})),
    codeOf(() => request.sessions.clear(stranger)),
  ])
  t.same((await app.inject('/')).json(), Array(4).fill('FST_SESSIONS_UNKNOWN'))
})

test('changing a session after the response has started throws FST_SESSIONS_ALREADY_SENT', async (t) => {
  const login = cookieSession('S', schema(), { transformers: [messageAuthentication({ key })] })
  const app = await buildApp(t, [login])
  const codes: Array<string | undefined> = []
  app.addHook('onResponse', async (request) => {
    codes.push(codeOf(() => request.sessions.set(login, { username: 'late', count: 1 })))
    codes.push(codeOf(() => request.sessions.clear(login)))
    codes.push(codeOf(() => request.sessions.regenerate(login)))
  })
  app.get('/', async () => 'ok')
  const res = await app.inject('/')
  t.equal(res.statusCode, 200)
  t.same(codes, Array(3).fill('FST_SESSIONS_ALREADY_SENT'))
  t.equal(res.headers['set-cookie'], undefined)
})

test('a route can opt out of sessions, or load only some', async (t) => {
  const login = cookieSession('LOGIN', schema(), { transformers: [messageAuthentication({ key })] })
  const cart = cookieSession('CART', Type.Object({ items: Type.Array(Type.String()) }), { transformers: [messageAuthentication({ key })] })
  const app = await buildApp(t, [login, cart])
  app.get('/set', async (request) => {
    request.sessions.set(login, { username: 'a', count: 1 })
    request.sessions.set(cart, { items: ['x'] })
    return 'ok'
  })
  app.get('/none', { config: { sessions: false } }, async (request) => codeOf(() => request.sessions.get(login)) ?? 'loaded')
  app.get('/cart', { config: { sessions: ['CART'] } }, async (request) => ({
    cart: request.sessions.get(cart),
    login: codeOf(() => request.sessions.get(login)) ?? 'loaded',
  }))
  const cookie = cookiesOf((await app.inject('/set')).headers['set-cookie'])
  t.equal((await app.inject({ url: '/none', headers: { cookie } })).body, 'FST_SESSIONS_UNKNOWN')
  t.same((await app.inject({ url: '/cart', headers: { cookie } })).json(), { cart: { items: ['x'] }, login: 'FST_SESSIONS_UNKNOWN' })
})

test('a route that names an unregistered session fails at registration', async (t) => {
  const login = cookieSession('LOGIN', schema(), { transformers: [messageAuthentication({ key })] })
  const app = await buildApp(t, [login])
  let code: string | undefined
  try {
    app.get('/x', { config: { sessions: ['NOPE'] } }, async () => 'ok')
    await app.ready()
  } catch (error) {
    code = (error as { code?: string }).code
  }
  t.equal(code, 'FST_SESSIONS_UNKNOWN')
})
