// Configurations that were accepted silently and could not work, or worked insecurely (issue 12):
// each is refused at the factory with FST_SESSIONS_OPTIONS, or warned about once.
import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import { test } from 'tap'
import Type from 'typebox'
import { cookieSession, encrypt, headerSession, jsonSerializer, ktorEncrypt, ktorSerializer, memoryStorage, messageAuthentication } from '../lib/index.js'
import { CookieTransport } from '../lib/transport.js'
import { buildApp, cookiesOf, parseSetCookie } from './helpers/app.js'

const Login = Type.Object({ username: Type.String() })
const OPTIONS = { code: 'FST_SESSIONS_OPTIONS' }

/** A logger stream that keeps every line, parsed. */
function logLines (): { stream: Writable, lines: Array<{ level: number, msg: string, session?: string }> } {
  const lines: Array<{ level: number, msg: string, session?: string }> = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(JSON.parse(String(chunk))); done() } })
  return { stream, lines }
}

test('HMAC with md5, ripemd160, ssl3-md5 or another weak or unknown hash is refused; sha1 warns', async (t) => {
  const key = randomBytes(32)
  for (const algorithm of ['md5', 'HmacMD5', 'ripemd160', 'rmd160', 'ssl3-md5', 'md5-sha1', 'RSA-MD5', 'md4']) {
    t.throws(() => messageAuthentication({ key, algorithm }), OPTIONS, `messageAuthentication ${algorithm}`)
    t.throws(() => ktorEncrypt({ encryptionKey: key, signKey: key, signAlgorithm: algorithm }), OPTIONS, `ktorEncrypt ${algorithm}`)
  }
  for (const algorithm of ['sha1', 'HmacSHA1']) {
    const mac = messageAuthentication({ key, algorithm })
    t.match(mac.warnings, [/SHA-1/], `messageAuthentication ${algorithm} warns`)
    t.equal(mac.transformRead(mac.transformWrite('x')), 'x')
    t.match(ktorEncrypt({ encryptionKey: key, signKey: key, signAlgorithm: algorithm }).warnings, [/SHA-1/], `ktorEncrypt ${algorithm} warns`)
  }
  for (const algorithm of ['sha256', 'HmacSHA256', 'sha384', 'HmacSHA512', 'sha512-256', 'sha3-256']) {
    t.same(messageAuthentication({ key, algorithm }).warnings ?? [], [], `${algorithm} is accepted without a warning`)
  }
})

test('shake128 and other digests HMAC cannot use are refused cleanly at the factory', async (t) => {
  const key = randomBytes(32)
  for (const algorithm of ['shake128', 'shake256', 'SHAKE128', 'no-such-hash', '']) {
    const error = t.throws(() => messageAuthentication({ key, algorithm }), OPTIONS, algorithm) as Error | undefined
    t.notMatch(error?.message ?? '', /error:[0-9A-F]{8}|OpenSSL|digital envelope/i, `${algorithm}: no raw OpenSSL error`)
    t.throws(() => ktorEncrypt({ encryptionKey: key, signKey: key, signAlgorithm: algorithm }), OPTIONS, `ktorEncrypt ${algorithm}`)
  }
})

test('cookie.extensions may not repeat an attribute the plugin writes, in any case', async (t) => {
  for (const name of ['Path', 'domain', 'SECURE', 'HttpOnly', 'samesite', 'Max-Age', 'expires', 'Partitioned', 'priority']) {
    t.throws(() => cookieSession('S', Login, { storage: memoryStorage(), cookie: { extensions: { [name]: 'x' } } }), OPTIONS, name)
  }
  t.doesNotThrow(() => cookieSession('S', Login, { storage: memoryStorage(), cookie: { extensions: { 'X-Flag': '' } } }))
})

test('cookie prefixes are matched case-insensitively, as browsers match them', async (t) => {
  for (const name of ['__HOST-S', '__host-S', '__Host-S']) {
    t.throws(() => cookieSession(name, Login, { storage: memoryStorage(), cookie: { secure: false } }), OPTIONS, `${name}: Secure`)
    t.throws(() => cookieSession(name, Login, { storage: memoryStorage(), cookie: { path: '/app' } }), OPTIONS, `${name}: Path=/`)
    t.throws(() => cookieSession(name, Login, { storage: memoryStorage(), cookie: { domain: 'example.com' } }), OPTIONS, `${name}: no Domain`)
  }
  for (const name of ['__SECURE-S', '__secure-S']) {
    t.throws(() => cookieSession(name, Login, { storage: memoryStorage(), cookie: { secure: 'auto' } }), OPTIONS, `${name}: Secure`)
  }
  const session = cookieSession('__HOST-S', Login, { storage: memoryStorage() })
  const app = await buildApp(t, [session])
  app.get('/', async (request) => { request.sessions.set(session, { username: 'a' }); return 'ok' })
  t.equal((await app.inject('/')).cookies[0]?.secure, true, 'Secure by default, as for __Host-')
})

test('secure: true on a plain http request warns once, naming the provider', async (t) => {
  const { stream, lines } = logLines()
  const session = cookieSession('S', Login, { storage: memoryStorage(), cookie: { secure: true } })
  const app = await buildApp(t, [session], { fastify: { logger: { level: 'warn', stream } } })
  app.get('/', async (request) => { request.sessions.set(session, { username: 'a' }); return 'ok' })
  for (let i = 0; i < 3; i++) t.equal((await app.inject('/')).statusCode, 200)
  const warnings = lines.filter((line) => line.level === 40 && /Secure/.test(line.msg) && line.session === 'S')
  t.equal(warnings.length, 1, 'one warning for three requests')
  t.match(warnings[0]?.msg, /http/)
})

test('secure: true behind https (a trusted proxy) does not warn', async (t) => {
  const { stream, lines } = logLines()
  const session = cookieSession('S', Login, { storage: memoryStorage(), cookie: { secure: true } })
  const app = await buildApp(t, [session], { fastify: { logger: { level: 'warn', stream }, trustProxy: true } })
  app.get('/', async (request) => { request.sessions.set(session, { username: 'a' }); return 'ok' })
  t.equal((await app.inject({ url: '/', headers: { 'x-forwarded-proto': 'https' } })).statusCode, 200)
  t.same(lines.filter((line) => line.level >= 40), [])
})

test('header sessions named after response headers with a meaning are refused', async (t) => {
  for (const name of ['Set-Cookie', 'set-cookie', 'Cookie', 'Location', 'Content-Type', 'Content-Length', 'Transfer-Encoding',
    'Connection', 'Keep-Alive', 'Upgrade', 'TE', 'Trailer', 'Content-Encoding', 'Cache-Control', 'Vary', 'Host', 'WWW-Authenticate']) {
    t.throws(() => headerSession(name, Login, { storage: memoryStorage() }), OPTIONS, name)
  }
  t.doesNotThrow(() => headerSession('X-Session', Login, { storage: memoryStorage() }))
  t.doesNotThrow(() => headerSession('Authorization-Session', Login, { storage: memoryStorage() }))
})

test('the dquotes encoding with JSON is refused at the factory, not a 500 at every set', async (t) => {
  const key = randomBytes(32)
  t.throws(() => cookieSession('S', Login, { cookie: { encoding: 'dquotes' } }), OPTIONS, 'JSON, no transformer')
  t.throws(() => cookieSession('S', Login, { transformers: [messageAuthentication({ key })], cookie: { encoding: 'dquotes' } }), OPTIONS, 'JSON + MAC')
  t.throws(() => cookieSession('S', Login, { serializer: jsonSerializer(Login), transformers: [messageAuthentication({ key })], cookie: { encoding: 'dquotes' } }), OPTIONS, 'an explicit jsonSerializer')
  // What can work still works: an encoding transformer last, another serializer, a server-side id.
  const usable = [
    cookieSession('A', Login, { transformers: [encrypt({ key })], cookie: { encoding: 'dquotes' } }),
    cookieSession('B', Type.Object({ username: Type.String() }), { serializer: ktorSerializer(Type.Object({ username: Type.String() })), transformers: [messageAuthentication({ key })], cookie: { encoding: 'dquotes' } }),
    cookieSession('C', Type.Object({ username: Type.String() }), { storage: memoryStorage(), cookie: { encoding: 'dquotes' } }),
  ]
  const app = await buildApp(t, usable)
  app.get('/', async (request) => {
    for (const p of usable) request.sessions.set(p, { username: 'a b' })
    return 'ok'
  })
  app.get('/read', async (request) => usable.map((p) => request.sessions.get(p)))
  const response = await app.inject('/')
  t.equal(response.statusCode, 200)
  const back = await app.inject({ url: '/read', headers: { cookie: cookiesOf(response.headers['set-cookie']) } })
  t.same(back.json(), [{ username: 'a b' }, { username: 'a b' }, { username: 'a b' }])
})

test('the dquotes encoding refuses a semicolon, which would end the value whatever the quotes', async (t) => {
  const verbatim = { serialize: (value: { note: string }) => value.note, deserialize: (text: string) => ({ note: text }) }
  const Note = Type.Object({ note: Type.String() })
  const session = cookieSession('S', Note, { serializer: verbatim, envelope: false, cookie: { encoding: 'dquotes' } })
  const app = await buildApp(t, [session])
  app.get('/:note', async (request) => {
    try {
      request.sessions.set(session, { note: (request.params as { note: string }).note })
      return 'set'
    } catch (error) {
      return (error as { code?: string }).code
    }
  })
  const response = await app.inject('/' + encodeURIComponent('x; Domain=evil.example'))
  t.equal(response.body, 'FST_SESSIONS_INVALID_PAYLOAD')
  t.same(response.cookies, [])
})

test('a maxAge so large that it cannot be seconds is refused, and says maxAge is in seconds', async (t) => {
  const weekInMs = 7 * 24 * 3600 * 1000
  for (const options of [{ maxAge: weekInMs }, { idleTimeout: weekInMs }, { cookie: { maxAge: weekInMs } }, { maxAge: 1e12 }]) {
    const error = t.throws(() => cookieSession('S', Login, { storage: memoryStorage(), ...options }), OPTIONS, JSON.stringify(options)) as Error | undefined
    t.match(error?.message, /seconds/)
  }
  t.doesNotThrow(() => cookieSession('S', Login, { storage: memoryStorage(), maxAge: 10 * 365 * 86400 }), 'ten years is allowed')
})

test('Max-Age is clamped to 2147483647 as Ktor does, and Expires stays a valid date', async (t) => {
  const transport = new CookieTransport('S', { path: '/', secure: false, httpOnly: true, sameSite: 'lax', encoding: 'uri' })
  const now = 1_700_000_000_000
  for (const maxAge of [2147483648, 1e12, Number.MAX_SAFE_INTEGER]) {
    const cookie = parseSetCookie(transport.line('v', maxAge, now, false))
    t.equal(cookie['max-age'], '2147483647', `${maxAge}`)
    t.notMatch(cookie['expires'], /Invalid/, `${maxAge}`)
    t.equal(Date.parse(cookie['expires'] as string), Math.floor(now / 1000) * 1000 + 2147483647 * 1000, `${maxAge}`)
  }
})
