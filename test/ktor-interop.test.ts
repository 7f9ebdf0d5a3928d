import { createDecipheriv, createHmac, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import Fastify, { type FastifyInstance } from 'fastify'
import { test, type Test } from 'tap'
import Type from 'typebox'
import sessions, { cookieSession, hex, ktorEncrypt, ktorSerializer, memoryStorage, messageAuthentication, type SessionProvider } from '../lib/index.js'
import { decodeUri } from '../lib/cookie-encoding.js'
import { fakeClock, rawCookieValues } from './helpers/app.js'

// A Fastify app and a Ktor service sharing cookies: values Ktor made (the vectors) read through
// the app, and what the app writes is checked with Ktor's algorithms, done here independently.

const vectors = (JSON.parse(readFileSync(new URL('./fixtures/ktor-vectors.json', import.meta.url), 'utf8')) as { vectors: Array<Record<string, string>> }).vectors
const vector = (id: string): Record<string, string> => vectors.find((v) => v.id === id) as Record<string, string>
const macVector = vector('transform/mac-hmacsha256/json')
const cookieVector = vector('cookie/mac-json')
const clearVector = vector('cookie/clear')
const encVector = vector('transform/encrypt-v3/aes128/json')

const LoginSession = Type.Object({ username: Type.String(), count: Type.Integer() })
const KEY = hex(macVector.keyHex as string)

async function appWith (t: Test, provider: SessionProvider<{ username: string, count: number }>): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(sessions, { providers: [provider] })
  app.get('/get', async (request) => ({ session: request.sessions.get(provider) }))
  app.get('/set', async (request) => { request.sessions.set(provider, { username: 'John', count: 1 }); return 'ok' })
  app.get('/clear', async (request) => { request.sessions.clear(provider); return 'ok' })
  await app.ready()
  return app
}

function setCookie (headers: Record<string, unknown>): string {
  const value = headers['set-cookie']
  return Array.isArray(value) ? value[0] as string : value as string
}

// Ktor's line minus the `$x-enc` attribute, which only Ktor's own client reads.
const withoutXEnc = (line: string): string => line.replace(/; \$x-enc=[A-Z_]+$/, '')

test('Ktor 3 (JSON + MessageAuthentication): a Ktor-made cookie reads, in every URI variant Ktor wrote', async (t) => {
  const login = cookieSession('LOGIN', LoginSession, { envelope: false, transformers: [messageAuthentication({ key: KEY })] })
  const app = await appWith(t, login)
  for (const key of ['URI_ENCODING(>=2.2.0, default)', 'URI_ENCODING(1.x..2.1.2)', 'URI_ENCODING(2.1.3)']) {
    const res = await app.inject({ url: '/get', headers: { cookie: `LOGIN=${cookieVector[key]}` } })
    t.same(res.json(), { session: { username: 'John', count: 1 } }, key)
    t.equal(res.headers['set-cookie'], undefined, 'a read sends no cookie')
  }
  const tampered = await app.inject({ url: '/get', headers: { cookie: `LOGIN=${cookieVector['URI_ENCODING(>=2.2.0, default)']?.replace('John', 'Jane')}` } })
  t.same(tampered.json(), { session: null })
})

test('Ktor 3 (JSON + MessageAuthentication): the app writes Ktor\'s cookie line byte for byte', async (t) => {
  fakeClock(t, Number(cookieVector.nowMillis))
  const plain = cookieSession('LOGIN', LoginSession, { envelope: false, transformers: [messageAuthentication({ key: KEY })], cookie: { sameSite: false } })
  const res = await (await appWith(t, plain)).inject('/set')
  t.equal(setCookie(res.headers), withoutXEnc(cookieVector.setCookieDefault as string))
  // What Ktor does on read: decodeURLQueryComponent, then HMAC over the value.
  const raw = decodeUri(rawCookieValues(res.headers['set-cookie']).get('LOGIN') ?? '') as string
  const value = raw.slice(0, raw.lastIndexOf('/'))
  t.equal(raw.slice(raw.lastIndexOf('/') + 1), createHmac('sha256', KEY).update(value).digest('hex'))
  t.same(JSON.parse(value), { username: 'John', count: 1 })
})

test('Ktor 3 cookie lines: Secure with SameSite=Lax, and a browser-session cookie', async (t) => {
  fakeClock(t, Number(cookieVector.nowMillis))
  const secure = cookieSession('LOGIN', LoginSession, { envelope: false, transformers: [messageAuthentication({ key: KEY })], cookie: { secure: true, sameSite: 'lax' } })
  t.equal(setCookie((await (await appWith(t, secure)).inject('/set')).headers), withoutXEnc(cookieVector.setCookieSecureLax as string))
  const session = cookieSession('LOGIN', LoginSession, { envelope: false, transformers: [messageAuthentication({ key: KEY })], cookie: { maxAge: null, sameSite: false } })
  t.equal(setCookie((await (await appWith(t, session)).inject('/set')).headers), withoutXEnc(cookieVector['setCookieSessionCookie(maxAge=null)'] as string))
})

test('clearing a Ktor session sends Ktor\'s clear line', async (t) => {
  const cookie = `LOGIN=${cookieVector['URI_ENCODING(>=2.2.0, default)']}`
  const plain = cookieSession('LOGIN', LoginSession, { envelope: false, transformers: [messageAuthentication({ key: KEY })], cookie: { sameSite: false } })
  const res = await (await appWith(t, plain)).inject({ url: '/clear', headers: { cookie } })
  t.equal(setCookie(res.headers), withoutXEnc(clearVector.setCookie as string))
  const secure = cookieSession('LOGIN', LoginSession, { envelope: false, transformers: [messageAuthentication({ key: KEY })], cookie: { secure: true } })
  const res2 = await (await appWith(t, secure)).inject({ url: '/clear', headers: { cookie } })
  t.equal(setCookie(res2.headers), withoutXEnc(clearVector.setCookieSecureLax as string))
})

// Ktor's Encrypt undone with plain node:crypto: MAC over the ciphertext, then AES-CBC.
function ktorDecrypt (value: string, encryptionKey: Buffer, signKey: Buffer): string {
  const [iv, rest] = value.split('/') as [string, string]
  const [ct, mac] = rest.split(':') as [string, string]
  if (createHmac('sha256', signKey).update(Buffer.from(ct, 'hex')).digest('hex') !== mac) throw new Error('bad MAC')
  const decipher = createDecipheriv(`aes-${encryptionKey.length * 8}-cbc`, encryptionKey, Buffer.from(iv, 'hex'))
  return Buffer.concat([decipher.update(Buffer.from(ct, 'hex')), decipher.final()]).toString('utf8')
}

test('Ktor 1.x/2.x style (reflection format + Encrypt): a Ktor-made cookie reads and the app writes one Ktor reads', async (t) => {
  const encryptionKey = hex(encVector.encryptionKeyHex as string)
  const signKey = hex(encVector.signKeyHex as string)
  const ktorMade = ktorEncrypt({ encryptionKey, signKey, ivGenerator: () => hex(encVector.ivHex as string) }).transformWrite('count=%23i1&username=%23sJohn')
  const login = cookieSession('LOGIN', LoginSession, { envelope: false, serializer: ktorSerializer(LoginSession), transformers: [ktorEncrypt({ encryptionKey, signKey })] })
  const app = await appWith(t, login)
  const read = await app.inject({ url: '/get', headers: { cookie: `LOGIN=${encodeURIComponent(ktorMade)}` } })
  t.same(read.json(), { session: { username: 'John', count: 1 } })
  const written = await app.inject('/set')
  const raw = decodeUri(rawCookieValues(written.headers['set-cookie']).get('LOGIN') ?? '') as string
  t.match(raw, /^[0-9a-f]{32}\/[0-9a-f]+:[0-9a-f]{64}$/)
  t.equal(ktorDecrypt(raw, encryptionKey, signKey), 'count=%23i1&username=%23sJohn')
})

test('Ktor 2.x values (MAC over the plaintext) read with backwardCompatibleRead', async (t) => {
  const encryptionKey = hex('00112233445566778899aabbccddeeff')
  const signKey = hex('02030405060708090a0b0c')
  const legacy = '00112233445566778899aabbccddeeff/c3850fc1ddc62f71ec5eaad6d393b91fa809fe32a1cf0cb4730788c5a489daef:51a5e9fcd1c91418f9a623bafa5022a524348e44244265dc0cab2cebacc28a5d'
  const UserSession = Type.Object({ userId: Type.String(), cart: Type.Array(Type.String()) })
  const user = cookieSession('USER', UserSession, { envelope: false, serializer: ktorSerializer(UserSession), transformers: [ktorEncrypt({ encryptionKey, signKey, backwardCompatibleRead: true })] })
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(sessions, { providers: [user] })
  app.get('/', async (request) => ({ session: request.sessions.get(user) }))
  const res = await app.inject({ url: '/', headers: { cookie: `USER=${legacy}` } })
  t.same(res.json(), { session: { userId: 'id2', cart: [] } })
})

test('server-side sessions can use Ktor\'s id format (64 lowercase hex characters)', async (t) => {
  const idVector = vector('sessionId/format')
  const pattern = new RegExp(idVector['regex(2.0+)'] as string)
  t.match(idVector.example, pattern)
  const login = cookieSession('LOGIN', LoginSession, {
    storage: memoryStorage(),
    identity: () => randomBytes(32).toString('hex'),
    idPattern: pattern,
  })
  const app = await appWith(t, login)
  const res = await app.inject('/set')
  const id = res.cookies[0]?.value ?? ''
  t.match(id, pattern)
  const back = await app.inject({ url: '/get', headers: { cookie: `LOGIN=${id}` } })
  t.same(back.json(), { session: { username: 'John', count: 1 } })
  // An id Ktor's storage would accept but ours never issued is not adopted.
  const unknown = await app.inject({ url: '/get', headers: { cookie: `LOGIN=${idVector.example}` } })
  t.same(unknown.json(), { session: null })
})
