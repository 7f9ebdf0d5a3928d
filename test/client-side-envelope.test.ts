import { test } from 'tap'
import Type from 'typebox'
import { cookieSession, headerSession, hex, messageAuthentication } from '../lib/index.js'
import { buildApp, cookiesOf, fakeClock, KEY_HEX, OTHER_KEY_HEX, rawCookieValues } from './helpers/app.js'

const key = hex(KEY_HEX)
const otherKey = hex(OTHER_KEY_HEX)
const schema = () => Type.Object({ username: Type.String(), count: Type.Integer() })

async function counterApp (t: Parameters<typeof buildApp>[0], provider: ReturnType<typeof cookieSession<ReturnType<typeof schema>>>, extra: Parameters<typeof buildApp>[2] = {}) {
  const app = await buildApp(t, [provider], extra)
  app.get('/set', async (request) => {
    request.sessions.set(provider, { username: 'john', count: 1 })
    return 'ok'
  })
  app.get('/read', async (request) => ({ s: request.sessions.get(provider) }))
  return app
}

test('a tampered cookie reads as absent, whichever character changes', async (t) => {
  const login = cookieSession('LOGIN', schema(), { transformers: [messageAuthentication({ key })] })
  const app = await counterApp(t, login)
  const set = await app.inject('/set')
  const value = rawCookieValues(set.headers['set-cookie']).get('LOGIN') ?? ''
  const decoded = set.cookies[0]?.value ?? ''
  let accepted = 0
  let failures = 0
  for (let i = 0; i < decoded.length; i++) {
    const c = decoded.charCodeAt(i)
    const flipped = decoded.slice(0, i) + String.fromCharCode(c === 0x30 ? 0x31 : c ^ 1) + decoded.slice(i + 1)
    const res = await app.inject({ url: '/read', headers: { cookie: 'LOGIN=' + encodeURIComponent(flipped) } })
    if (res.statusCode !== 200) failures++
    else if (res.json().s !== null) accepted++
  }
  t.equal(failures, 0, 'no tampered value makes the request fail')
  t.equal(accepted, 0, `none of ${decoded.length} single-character changes is accepted`)
  const untouched = await app.inject({ url: '/read', headers: { cookie: 'LOGIN=' + value } })
  t.same(untouched.json().s, { username: 'john', count: 1 }, 'the original still reads')
})

test('truncated, extended and garbage values read as absent without an error', async (t) => {
  const login = cookieSession('LOGIN', schema(), { transformers: [messageAuthentication({ key })] })
  const app = await counterApp(t, login)
  const value = rawCookieValues((await app.inject('/set')).headers['set-cookie']).get('LOGIN') ?? ''
  const cases = [value.slice(0, -1), value + '0', value.slice(10), '%', '%E0%A4%A', '%ZZ', '"', 'x'.repeat(10_000), '\u00ff\u00fe', '/', value.replace('%2F', '/').toUpperCase()]
  for (const bad of cases) {
    const res = await app.inject({ url: '/read', headers: { cookie: 'LOGIN=' + bad } })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { s: null })
  }
})

test('a value minted for one provider is refused by another that shares its key', async (t) => {
  const reasons: string[] = []
  const a = cookieSession('A', schema(), { transformers: [messageAuthentication({ key })] })
  const b = cookieSession('B', Type.Object({ username: Type.String(), count: Type.Integer() }), { transformers: [messageAuthentication({ key })] })
  const app = await buildApp(t, [a, b], { onInvalid: (reason) => { reasons.push(reason) } })
  app.get('/set', async (request) => { request.sessions.set(a, { username: 'admin', count: 1 }); return 'ok' })
  app.get('/read', async (request) => ({ b: request.sessions.get(b) }))
  const value = rawCookieValues((await app.inject('/set')).headers['set-cookie']).get('A') ?? ''
  const res = await app.inject({ url: '/read', headers: { cookie: 'B=' + value } })
  t.same(res.json(), { b: null })
  t.same(reasons, ['wrong-provider'])
})

test('a payload from before a schema change reads as absent, not as a crash', async (t) => {
  const reasons: string[] = []
  const before = cookieSession('LOGIN', Type.Object({ user: Type.String() }), { transformers: [messageAuthentication({ key })] })
  const old = await buildApp(t, [before])
  old.get('/set', async (request) => { request.sessions.set(before, { user: 'john' }); return 'ok' })
  const cookie = cookiesOf((await old.inject('/set')).headers['set-cookie'])

  const after = cookieSession('LOGIN', schema(), { transformers: [messageAuthentication({ key })] })
  const app = await counterApp(t, after, { onInvalid: (reason) => { reasons.push(reason) } })
  const res = await app.inject({ url: '/read', headers: { cookie } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { s: null })
  t.same(reasons, ['schema'])
})

test('a client-side session expires at its absolute maxAge, even if the browser keeps the cookie', async (t) => {
  const clock = fakeClock(t)
  const reasons: string[] = []
  const login = cookieSession('LOGIN', schema(), { maxAge: 60, transformers: [messageAuthentication({ key })] })
  const app = await counterApp(t, login, { onInvalid: (reason) => { reasons.push(reason) } })
  const cookie = cookiesOf((await app.inject('/set')).headers['set-cookie'])
  clock.advance(59_999)
  t.same((await app.inject({ url: '/read', headers: { cookie } })).json().s, { username: 'john', count: 1 }, 'one millisecond before expiry')
  clock.advance(1)
  t.same((await app.inject({ url: '/read', headers: { cookie } })).json().s, null, 'at expiry')
  t.same(reasons, ['expired'])
})

test('later sets keep the first expiry: a session cannot be kept alive forever by writing it', async (t) => {
  const clock = fakeClock(t)
  const login = cookieSession('LOGIN', schema(), { maxAge: 100, transformers: [messageAuthentication({ key })] })
  const app = await buildApp(t, [login])
  app.get('/bump', async (request) => {
    const s = request.sessions.get(login)
    request.sessions.set(login, { username: 'a', count: (s?.count ?? 0) + 1 })
    return { count: s?.count ?? 0 }
  })
  let cookie = ''
  for (let i = 0; i < 4; i++) {
    const res = await app.inject({ url: '/bump', headers: { cookie } })
    t.equal(res.json().count, i)
    cookie = cookiesOf(res.headers['set-cookie'])
    clock.advance(30_000)
  }
  // 120 s after the first set: expired although it was rewritten 30 s ago.
  t.equal((await app.inject({ url: '/bump', headers: { cookie } })).json().count, 0)
})

test('idleTimeout expires a session nobody used, and a read refreshes it at most once per tenth of the window', async (t) => {
  const clock = fakeClock(t)
  const reasons: string[] = []
  const login = cookieSession('LOGIN', schema(), { idleTimeout: 100, transformers: [messageAuthentication({ key })] })
  const app = await counterApp(t, login, { onInvalid: (reason) => { reasons.push(reason) } })
  let cookie = cookiesOf((await app.inject('/set')).headers['set-cookie'])

  clock.advance(5_000)
  const early = await app.inject({ url: '/read', headers: { cookie } })
  t.same(early.json().s, { username: 'john', count: 1 })
  t.equal(early.headers['set-cookie'], undefined, 'no refresh within the first tenth')

  clock.advance(6_000)
  const due = await app.inject({ url: '/read', headers: { cookie } })
  t.equal(due.cookies.length, 1, 'a refresh once a tenth has passed')
  cookie = cookiesOf(due.headers['set-cookie'])
  const again = await app.inject({ url: '/read', headers: { cookie } })
  t.equal(again.headers['set-cookie'], undefined, 'not again right after')

  clock.advance(99_000)
  t.same((await app.inject({ url: '/read', headers: { cookie } })).json().s, { username: 'john', count: 1 }, 'alive: refreshed 99 s ago')
  clock.advance(100_001)
  t.same((await app.inject({ url: '/read', headers: { cookie } })).json().s, null, 'idle for longer than the window')
  t.same(reasons, ['idle'])
})

test('key rotation: a value signed with an older key still reads, and the next write uses the first key', async (t) => {
  const old = cookieSession('LOGIN', schema(), { transformers: [messageAuthentication({ key: otherKey })] })
  const oldApp = await counterApp(t, old)
  const oldCookie = cookiesOf((await oldApp.inject('/set')).headers['set-cookie'])

  const rotated = cookieSession('LOGIN', schema(), { transformers: [messageAuthentication({ key: [key, otherKey] })] })
  const app = await counterApp(t, rotated)
  t.same((await app.inject({ url: '/read', headers: { cookie: oldCookie } })).json().s, { username: 'john', count: 1 })
  const rewritten = cookiesOf((await app.inject({ url: '/set', headers: { cookie: oldCookie } })).headers['set-cookie'])

  const newOnly = cookieSession('LOGIN', schema(), { transformers: [messageAuthentication({ key })] })
  const newApp = await counterApp(t, newOnly)
  t.same((await newApp.inject({ url: '/read', headers: { cookie: rewritten } })).json().s, { username: 'john', count: 1 }, 'rewritten with the first key')
  t.same((await newApp.inject({ url: '/read', headers: { cookie: oldCookie } })).json().s, null, 'the retired key no longer reads')
})

test('a value signed with an unknown key reads as absent with reason bad-signature', async (t) => {
  const reasons: string[] = []
  const other = cookieSession('LOGIN', schema(), { transformers: [messageAuthentication({ key: otherKey })] })
  const otherApp = await counterApp(t, other)
  const cookie = cookiesOf((await otherApp.inject('/set')).headers['set-cookie'])
  const login = cookieSession('LOGIN', schema(), { transformers: [messageAuthentication({ key })] })
  const app = await counterApp(t, login, { onInvalid: (reason) => { reasons.push(reason) } })
  t.same((await app.inject({ url: '/read', headers: { cookie } })).json().s, null)
  t.same(reasons, ['bad-signature'])
})

test('prototype-polluting payloads read as absent and pollute nothing', async (t) => {
  const Loose = Type.Object({ username: Type.String() })
  const login = cookieSession('LOGIN', Loose, {
    transformers: [messageAuthentication({ key })],
    envelope: false,
  })
  const app = await buildApp(t, [login])
  app.get('/read', async (request) => {
    const s = request.sessions.get(login)
    const merged = Object.assign({}, s)
    return { s, polluted: ({} as Record<string, unknown>).polluted ?? null, mergedPolluted: (merged as Record<string, unknown>).polluted ?? null }
  })
  const mac = messageAuthentication({ key })
  const payloads = [
    '{"username":"a","__proto__":{"polluted":true}}',
    '{"username":"a","constructor":{"prototype":{"polluted":true}}}',
    '{"username":"a","\\u005f_proto__":{"polluted":true}}',
  ]
  for (const payload of payloads) {
    const res = await app.inject({ url: '/read', headers: { cookie: 'LOGIN=' + encodeURIComponent(mac.transformWrite(payload)) } })
    t.same(res.json(), { s: null, polluted: null, mergedPolluted: null }, payload)
  }
})

test('envelope: false sends the bare signed payload, as Ktor does', async (t) => {
  const login = cookieSession('LOGIN', schema(), { envelope: false, transformers: [messageAuthentication({ key })] })
  const app = await counterApp(t, login)
  const res = await app.inject('/set')
  const value = res.cookies[0]?.value ?? ''
  t.equal(value, '{"username":"john","count":1}/' + value.split('/')[1])
  t.equal(value, messageAuthentication({ key }).transformWrite('{"username":"john","count":1}'))
})

test('a header session reads the request header and writes the response header', async (t) => {
  const api = headerSession('X-Api-Session', schema(), { transformers: [messageAuthentication({ key })] })
  const app = await buildApp(t, [api])
  app.get('/login', async (request) => { request.sessions.set(api, { username: 'bot', count: 0 }); return 'ok' })
  app.get('/me', async (request) => ({ s: request.sessions.get(api) }))
  app.get('/logout', async (request) => { request.sessions.clear(api); return 'ok' })
  const login = await app.inject('/login')
  const token = login.headers['x-api-session'] as string
  t.ok(token.length > 20)
  t.equal(login.headers['set-cookie'], undefined)
  t.equal(login.headers.vary, 'X-Api-Session')
  t.same((await app.inject({ url: '/me', headers: { 'x-api-session': token } })).json(), { s: { username: 'bot', count: 0 } })
  t.same((await app.inject({ url: '/me', headers: { 'X-API-SESSION': token } })).json(), { s: { username: 'bot', count: 0 } }, 'case-insensitive')
  const read = await app.inject({ url: '/me', headers: { 'x-api-session': token } })
  t.equal(read.headers['x-api-session'], undefined, 'a read sends no header')
  const logout = await app.inject({ url: '/logout', headers: { 'x-api-session': token } })
  t.equal(logout.headers['x-api-session'], '', 'clearing sends the header empty')
  t.same((await app.inject({ url: '/me', headers: { 'x-api-session': 'garbage' } })).json(), { s: null })
})

test('regenerate on a client-side session re-issues the value', async (t) => {
  const login = cookieSession('LOGIN', schema(), { transformers: [messageAuthentication({ key })] })
  const app = await counterApp(t, login)
  app.get('/regen', async (request) => { request.sessions.regenerate(login); return { s: request.sessions.get(login) } })
  app.get('/regen-none', async (request) => { request.sessions.regenerate(login); return 'ok' })
  const first = cookiesOf((await app.inject('/set')).headers['set-cookie'])
  await new Promise((resolve) => setTimeout(resolve, 5))
  const res = await app.inject({ url: '/regen', headers: { cookie: first } })
  t.same(res.json().s, { username: 'john', count: 1 })
  const second = cookiesOf(res.headers['set-cookie'])
  t.not(second, first, 'a new value')
  t.same((await app.inject({ url: '/read', headers: { cookie: second } })).json().s, { username: 'john', count: 1 })
  t.equal((await app.inject('/regen-none')).headers['set-cookie'], undefined, 'nothing without a session')
})

test('a value this server wrote or verified is not verified again, but its clocks and schema still are', async (t) => {
  const clock = fakeClock(t)
  let reads = 0
  const mac = messageAuthentication({ key })
  const counting = { transformWrite: (v: string) => mac.transformWrite(v), transformRead: (v: string) => { reads++; return mac.transformRead(v) } }
  const login = cookieSession('LOGIN', schema(), { maxAge: 60, transformers: [counting] })
  const app = await counterApp(t, login)
  const cookie = cookiesOf((await app.inject('/set')).headers['set-cookie'])
  for (let i = 0; i < 3; i++) t.same((await app.inject({ url: '/read', headers: { cookie } })).json().s, { username: 'john', count: 1 })
  t.equal(reads, 0, 'the value it wrote needs no second MAC check')
  const tampered = cookie.slice(0, -1) + (cookie.endsWith('0') ? '1' : '0')
  t.same((await app.inject({ url: '/read', headers: { cookie: tampered } })).json().s, null)
  t.equal(reads, 1, 'any other value is checked')
  // The same last characters as the remembered value, a different start: checked, and refused.
  const head = cookie.indexOf('=') + 1
  const sameEnd = cookie.slice(0, head) + (cookie[head] === '2' ? '3' : '2') + cookie.slice(head + 1)
  t.same((await app.inject({ url: '/read', headers: { cookie: sameEnd } })).json().s, null)
  t.equal(reads, 2, 'a value that only ends like a remembered one is checked')
  clock.advance(60_000)
  t.same((await app.inject({ url: '/read', headers: { cookie } })).json().s, null, 'still expires')
})
