import { readFileSync } from 'node:fs'
import Fastify from 'fastify'
import { test, type Test } from 'tap'
import Type from 'typebox'
import sessions, { cookieSession, headerSession, hex, ktorSerializer, memoryStorage, messageAuthentication, type SessionProvider } from '../lib/index.js'
import { readSession, sessionCookie, sessionValue } from '../testing/index.js'
import { fakeClock, KEY_HEX } from './helpers/app.js'

// fastify-sessions/testing: sessionCookie mints what a logged-in client holds, readSession reads
// what a response set, both through the provider's own pipeline.

const Login = Type.Object({ username: Type.String(), count: Type.Integer() })
type LoginData = { username: string, count: number }
const vectors = (JSON.parse(readFileSync(new URL('./fixtures/ktor-vectors.json', import.meta.url), 'utf8')) as { vectors: Array<Record<string, string>> }).vectors
const vector = (id: string): Record<string, string> => vectors.find((v) => v.id === id) as Record<string, string>

async function appFor (t: Test, provider: SessionProvider<LoginData>) {
  const app = Fastify()
  await app.register(sessions, { providers: [provider] })
  app.get('/me', async (request) => ({ session: request.sessions.get(provider) }))
  app.get('/set', async (request) => { request.sessions.set(provider, { username: 'ada', count: 7 }); return 'ok' })
  t.teardown(() => app.close())
  return app
}

const makers: Record<string, () => SessionProvider<LoginData>> = {
  'server-side': () => cookieSession('LOGIN', Login, { storage: memoryStorage() }),
  'client-side': () => cookieSession('LOGIN', Login, { transformers: [messageAuthentication({ key: hex(KEY_HEX) })] }),
}

for (const [mode, make] of Object.entries(makers)) {
  test(`sessionCookie logs a request in, with inject (${mode})`, async (t) => {
    const login = make()
    const app = await appFor(t, login)
    const cookie = await sessionCookie(login, { username: 'ada', count: 1 })
    t.match(cookie, /^LOGIN=/)
    t.same((await app.inject({ method: 'GET', url: '/me', headers: { cookie } })).json(), { session: { username: 'ada', count: 1 } })
  })

  test(`readSession reads a Set-Cookie line, a Cookie header and storageState cookies (${mode})`, async (t) => {
    const login = make()
    const app = await appFor(t, login)
    const res = await app.inject({ method: 'GET', url: '/set' })
    const line = res.headers['set-cookie'] as string
    t.same(await readSession(login, line), { username: 'ada', count: 7 }, 'a Set-Cookie line')
    t.same(await readSession(login, [line]), { username: 'ada', count: 7 }, 'the Set-Cookie lines of a response')
    const pair = line.split(';')[0] as string
    t.same(await readSession(login, `theme=dark; ${pair}`), { username: 'ada', count: 7 }, 'a Cookie header')
    const storageState = { cookies: [{ name: 'theme', value: 'dark', domain: 'localhost', path: '/' }, { name: 'LOGIN', value: pair.slice('LOGIN='.length), domain: 'localhost', path: '/' }] }
    t.same(await readSession(login, storageState.cookies), { username: 'ada', count: 7 }, 'Playwright storageState cookies')
    t.equal(await readSession(login, 'theme=dark'), null, 'no session cookie')
    t.equal(await readSession(login, `${pair.slice(0, -3)}AAA`), null, 'a tampered value reads as absent')
    t.equal(await readSession(login, 'LOGIN=; Max-Age=0; Path=/'), null, 'a clearing line carries none')
  })

  test(`sessionCookie's now: a session minted in the past expires as the plugin says (${mode})`, async (t) => {
    const login = make()
    const app = await appFor(t, login)
    const clock = fakeClock(t)
    const old = await sessionCookie(login, { username: 'ada', count: 1 }, { now: clock.now - 8 * 86400_000 })
    t.same((await app.inject({ method: 'GET', url: '/me', headers: { cookie: old } })).json(), { session: null }, 'eight days old, past the 7-day maxAge')
    const recent = await sessionCookie(login, { username: 'ada', count: 1 }, { now: new Date(clock.now - 6 * 86400_000) })
    t.same((await app.inject({ method: 'GET', url: '/me', headers: { cookie: recent } })).json(), { session: { username: 'ada', count: 1 } })
    t.equal(await readSession(login, recent, { now: clock.now + 2 * 86400_000 }), null, 'readSession takes a now too')
  })
}

test('sessionCookie refuses a payload the schema refuses', async (t) => {
  const login = makers['server-side']?.() as SessionProvider<LoginData>
  await t.rejects(sessionCookie(login, { username: 'ada' } as LoginData), { code: 'FST_SESSIONS_INVALID_PAYLOAD' })
})

test('Ktor formats: sessionCookie writes Ktor\'s value byte for byte, readSession reads Ktor\'s line', async (t) => {
  const mac = vector('transform/mac-hmacsha256/json')
  const cookieVector = vector('cookie/mac-json')
  const login = cookieSession('LOGIN', Login, { envelope: false, transformers: [messageAuthentication({ key: hex(mac.keyHex as string) })] })
  t.equal(await sessionCookie(login, { username: 'John', count: 1 }), `LOGIN=${cookieVector['URI_ENCODING(>=2.2.0, default)']}`)
  t.same(await readSession(login, cookieVector.setCookieDefault as string), { username: 'John', count: 1 })
  const ktor2 = cookieSession('LOGIN', Type.Object({ username: Type.String(), count: Type.Integer() }), { envelope: false, serializer: ktorSerializer(Login), transformers: [messageAuthentication({ key: hex(mac.keyHex as string) })] })
  const minted = await sessionCookie(ktor2, { username: 'John', count: 1 })
  t.match(decodeURIComponent(minted), /^LOGIN=count=%23i1&username=%23sJohn\/[0-9a-f]{64}$/, 'Ktor 1.x/2.x tagged format')
  t.same(await readSession(ktor2, minted), { username: 'John', count: 1 })
})

test('header sessions: sessionValue is the header\'s value, readSession reads one', async (t) => {
  const api = headerSession('X-Session', Login, { storage: memoryStorage() })
  const app = await appFor(t, api)
  const value = await sessionValue(api, { username: 'ada', count: 2 })
  t.same((await app.inject({ method: 'GET', url: '/me', headers: { 'x-session': value } })).json(), { session: { username: 'ada', count: 2 } })
  const res = await app.inject({ method: 'GET', url: '/set' })
  t.same(await readSession(api, res.headers['x-session'] as string), { username: 'ada', count: 7 })
})

test('sessionCookie works with fetch against a listening app', async (t) => {
  const login = cookieSession('LOGIN', Login, { storage: memoryStorage() })
  const app = await appFor(t, login)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const res = await fetch(`http://127.0.0.1:${port}/me`, { headers: { cookie: await sessionCookie(login, { username: 'ada', count: 3 }) } })
  t.same(await res.json(), { session: { username: 'ada', count: 3 } })
  const set = await fetch(`http://127.0.0.1:${port}/set`)
  t.same(await readSession(login, set.headers.getSetCookie()), { username: 'ada', count: 7 }, 'fetch\'s getSetCookie()')
})

test('chunked cookies: sessionCookie gives every chunk, readSession joins the Set-Cookie lines', async (t) => {
  const Big = Type.Object({ username: Type.String(), count: Type.Integer(), notes: Type.String() })
  const cart = cookieSession('CART', Big, { transformers: [messageAuthentication({ key: hex(KEY_HEX) })], cookie: { chunks: 3 } })
  const app = Fastify()
  await app.register(sessions, { providers: [cart] })
  app.get('/me', async (request) => ({ session: request.sessions.get(cart) }))
  app.get('/set', async (request) => { request.sessions.set(cart, { username: 'ada', count: 2, notes: 'n'.repeat(6000) }); return 'ok' })
  t.teardown(() => app.close())

  const payload = { username: 'ada', count: 1, notes: 'x'.repeat(6000) }
  const cookie = await sessionCookie(cart, payload)
  t.match(cookie, /^CART=[^;]+; CART\.1=[^;]+$/, 'two chunks, as a Cookie header')
  t.same((await app.inject({ url: '/me', headers: { cookie } })).json(), { session: payload })

  const lines = (await app.inject('/set')).headers['set-cookie'] as string[]
  t.equal(lines.length, 2)
  t.same(await readSession(cart, lines), { username: 'ada', count: 2, notes: 'n'.repeat(6000) })
  t.equal(await readSession(cart, lines.slice(0, 1)), null, 'a missing chunk reads as absent')
})
