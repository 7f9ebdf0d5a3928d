import { test, type Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildDemo, parseCookies } from '../example/app.js'
import { loadKeys, type DemoKeys } from '../example/keys.js'
import { rawCookieValues, setCookies } from './helpers/app.js'

const KEYS: DemoKeys = {
  mac: Buffer.alloc(32, 7),
  enc: Buffer.alloc(32, 9),
  generated: [],
}

async function demo (t: Test, dir?: string, keys: DemoKeys = KEYS): Promise<FastifyInstance> {
  const app = await buildDemo({ sessionsDir: dir ?? t.testdir(), keys })
  t.teardown(() => app.close())
  return app
}

/** The cookie `name` a response sets (its value decoded), with its attributes. */
function cookieNamed (res: LightMyRequestResponse, name: string): LightMyRequestResponse['cookies'][number] | undefined {
  return res.cookies.find((c) => c.name === name)
}

/** The Set-Cookie line of cookie `name`, for what only the line shows (the order of attributes). */
function lineOf (res: LightMyRequestResponse, name: string): string | undefined {
  return setCookies(res.headers['set-cookie']).find((line) => line.startsWith(name + '='))
}

/** A minimal browser: keeps cookies (ignoring paths unless asked) across injected requests. */
class Client {
  readonly jar = new Map<string, { value: string, path: string }>()
  constructor (readonly app: FastifyInstance) {}

  cookieHeader (url: string): string {
    return [...this.jar].filter(([, c]) => url.startsWith(c.path)).map(([name, c]) => `${name}=${c.value}`).join('; ')
  }

  async request (method: 'GET' | 'POST', url: string, form?: Record<string, string>): Promise<LightMyRequestResponse> {
    const headers: Record<string, string> = {}
    const cookie = this.cookieHeader(url)
    if (cookie !== '') headers['cookie'] = cookie
    if (form !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded'
    const res = await this.app.inject({ method, url, headers, ...(form === undefined ? {} : { payload: new URLSearchParams(form).toString() }) })
    // Sent back as received (a browser does not decode values).
    const raw = rawCookieValues(res.headers['set-cookie'])
    for (const { name, value, path, maxAge } of res.cookies) {
      if (value === '' || maxAge === 0) this.jar.delete(name)
      else this.jar.set(name, { value: raw.get(name) ?? '', path: path ?? '/' })
    }
    return res
  }
}

function count (res: LightMyRequestResponse): number | null {
  const match = /id="count">(\d+)</.exec(res.body)
  return match === null ? null : Number(match[1])
}

test('the home page offers a login form and sets no cookie to an anonymous visitor', async (t) => {
  const app = await demo(t)
  const res = await app.inject('/')
  t.equal(res.statusCode, 200)
  t.match(res.body, /<form method="post" action="\/login">/)
  t.equal(res.headers['set-cookie'], undefined)
})

test('logging in sets a server-side LOGIN_SESSION id cookie and the counter grows on every visit', async (t) => {
  const app = await demo(t)
  const browser = new Client(app)
  const login = await browser.request('POST', '/login', { username: 'John' })
  t.equal(login.statusCode, 303)
  t.equal(login.headers.location, '/')
  const cookie = cookieNamed(login, 'LOGIN_SESSION')
  t.ok(cookie, 'LOGIN_SESSION is set')
  t.match(cookie?.value, /^[A-Za-z0-9_-]{43}$/, 'only an id travels')
  t.notMatch(cookie?.value, /John/)
  t.match(lineOf(login, 'LOGIN_SESSION'), /; Path=\/; HttpOnly; SameSite=Lax/)
  const first = await browser.request('GET', '/')
  t.match(first.body, /Hello, John/)
  t.equal(count(first), 1)
  t.equal(count(await browser.request('GET', '/')), 2)
  t.equal(count(await browser.request('GET', '/')), 3)
})

test('login regenerates the id: the id held before login is dead afterwards', async (t) => {
  const app = await demo(t)
  const browser = new Client(app)
  await browser.request('POST', '/login', { username: 'first' })
  const before = browser.jar.get('LOGIN_SESSION')?.value
  await browser.request('POST', '/login', { username: 'second' })
  const after = browser.jar.get('LOGIN_SESSION')?.value
  t.ok(before !== undefined && after !== undefined)
  t.not(after, before, 'a fresh id after login')
  const replay = await app.inject({ url: '/', headers: { cookie: `LOGIN_SESSION=${before}` } })
  t.notMatch(replay.body, /Hello,/, 'the old id no longer logs in')
  t.match((await browser.request('GET', '/')).body, /Hello, second/)
})

test('logout expires the cookie and the old id cannot be replayed', async (t) => {
  const app = await demo(t)
  const browser = new Client(app)
  await browser.request('POST', '/login', { username: 'John' })
  const id = browser.jar.get('LOGIN_SESSION')?.value
  const logout = await browser.request('POST', '/logout')
  t.equal(logout.statusCode, 303)
  t.equal(cookieNamed(logout, 'LOGIN_SESSION')?.maxAge, 0)
  const replay = await app.inject({ url: '/', headers: { cookie: `LOGIN_SESSION=${id}` } })
  t.notMatch(replay.body, /Hello,/)
  t.match(replay.body, /action="\/login"/)
})

test('a bad login name is refused with 400 and no session', async (t) => {
  const app = await demo(t)
  const res = await app.inject({ method: 'POST', url: '/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'username=%3Cscript%3E' })
  t.equal(res.statusCode, 400)
  t.equal(res.headers['set-cookie'], undefined)
})

test('the cart is a signed cookie with path /shop, seen only under /shop', async (t) => {
  const app = await demo(t)
  const browser = new Client(app)
  const add = await browser.request('POST', '/shop/add', { product: 'tea' })
  t.equal(add.statusCode, 303)
  t.equal(cookieNamed(add, 'SESSION_CART')?.path, '/shop')
  t.match(rawCookieValues(add.headers['set-cookie']).get('SESSION_CART'), /%2F[0-9a-f]{64}$/, 'value/hex(mac), as Ktor writes it')
  await browser.request('POST', '/shop/add', { product: 'mug' })
  const shop = await browser.request('GET', '/shop')
  t.match(shop.body, /<ul class="items" id="cart"><li>Green tea<\/li><li>Enamel mug<\/li><\/ul>/)
  const underShop = await browser.request('GET', '/shop/sessions')
  t.match(underShop.body, /data-session="SESSION_CART">[\s\S]*?state present/)
  const outside = await browser.request('GET', '/sessions')
  t.match(outside.body, /data-session="SESSION_CART">[\s\S]*?state absent/, 'the browser does not send it outside /shop')
  t.notMatch(outside.body, /data-cookie="SESSION_CART"/)
})

test('a tampered cart reads as empty and the sessions page says why', async (t) => {
  const app = await demo(t)
  const browser = new Client(app)
  await browser.request('POST', '/shop/add', { product: 'tea' })
  const value = browser.jar.get('SESSION_CART')?.value as string
  const forged = value.replace('tea', 'mug')
  t.not(forged, value)
  const shop = await app.inject({ url: '/shop', headers: { cookie: `SESSION_CART=${forged}` } })
  t.match(shop.body, /id="cart-empty"/)
  const page = await app.inject({ url: '/shop/sessions', headers: { cookie: `SESSION_CART=${forged}` } })
  t.match(page.body, /id="ignored">Ignored in this request: <code>SESSION_CART<\/code> \(bad-signature\)/)
})

test('emptying the cart expires its cookie', async (t) => {
  const app = await demo(t)
  const browser = new Client(app)
  await browser.request('POST', '/shop/add', { product: 'coffee' })
  const res = await browser.request('POST', '/shop/empty')
  t.match(lineOf(res, 'SESSION_CART'), /Max-Age=0; .*Path=\/shop/)
  t.match((await browser.request('GET', '/shop')).body, /id="cart-empty"/)
})

test('an unknown product is refused', async (t) => {
  const app = await demo(t)
  const res = await new Client(app).request('POST', '/shop/add', { product: 'caviar' })
  t.equal(res.statusCode, 400)
  t.equal(res.headers['set-cookie'], undefined)
})

test('the theme is kept encrypted in SETTINGS_SESSION and applied to every page', async (t) => {
  const app = await demo(t)
  const browser = new Client(app)
  t.match((await browser.request('GET', '/')).body, /<body class="light">/)
  const save = await browser.request('POST', '/preferences', { theme: 'dark' })
  t.equal(save.statusCode, 303)
  const cookie = cookieNamed(save, 'SETTINGS_SESSION')
  t.ok(cookie)
  t.notMatch(cookie?.value, /dark|theme/, 'the value is not readable')
  t.match((await browser.request('GET', '/')).body, /<body class="dark">/)
  t.match((await browser.request('GET', '/shop')).body, /<body class="dark">/)
  t.match((await browser.request('GET', '/preferences')).body, /id="current-theme">dark</)
  const bad = await browser.request('POST', '/preferences', { theme: 'purple' })
  t.equal(bad.statusCode, 400)
})

test('the JSON API keeps its session in the X-Api-Session header', async (t) => {
  const app = await demo(t)
  const login = await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'ada' } })
  t.equal(login.statusCode, 200)
  t.same(login.json(), { username: 'ada' })
  const id = login.headers['x-api-session']
  t.type(id, 'string')
  t.match(id, /^[A-Za-z0-9_-]{43}$/)
  t.equal(login.headers['set-cookie'], undefined, 'no cookie for API clients')
  t.match(login.headers.vary, /X-Api-Session/)
  const me1 = await app.inject({ url: '/api/me', headers: { 'x-api-session': id as string } })
  t.same(me1.json(), { username: 'ada', calls: 1 })
  const me2 = await app.inject({ url: '/api/me', headers: { 'x-api-session': id as string } })
  t.same(me2.json(), { username: 'ada', calls: 2 })
  const anonymous = await app.inject('/api/me')
  t.equal(anonymous.statusCode, 401)
  const logout = await app.inject({ method: 'POST', url: '/api/logout', headers: { 'x-api-session': id as string } })
  t.equal(logout.headers['x-api-session'], '', 'cleared: an empty header')
  t.equal((await app.inject({ url: '/api/me', headers: { 'x-api-session': id as string } })).statusCode, 401)
})

test('API routes load only the header session', async (t) => {
  const app = await demo(t)
  const browser = new Client(app)
  await browser.request('POST', '/login', { username: 'John' })
  const res = await app.inject({ url: '/api/me', headers: { cookie: browser.cookieHeader('/') } })
  t.equal(res.statusCode, 401, 'a login cookie is not an API session')
  t.equal(res.headers['set-cookie'], undefined)
})

test('the sessions page shows each session and the cookies received, and never a key', async (t) => {
  const app = await demo(t)
  const browser = new Client(app)
  await browser.request('POST', '/login', { username: 'John' })
  await browser.request('POST', '/preferences', { theme: 'dark' })
  const res = await browser.request('GET', '/sessions')
  t.equal(res.statusCode, 200)
  for (const name of ['LOGIN_SESSION', 'SESSION_CART', 'SETTINGS_SESSION', 'X-Api-Session']) {
    t.match(res.body, `data-session="${name}"`)
  }
  t.match(res.body, /data-session="LOGIN_SESSION">[\s\S]*?state present[\s\S]*?&quot;username&quot;: &quot;John&quot;/)
  t.match(res.body, /data-cookie="LOGIN_SESSION"/)
  t.match(res.body, /data-cookie="SETTINGS_SESSION"/)
  for (const key of [KEYS.mac, KEYS.enc]) {
    t.notMatch(res.body, key.toString('hex'))
    t.notMatch(res.body, key.toString('base64'))
  }
  const id = browser.jar.get('LOGIN_SESSION')?.value ?? ''
  t.equal(id.length, 43)
  t.notOk(res.body.includes(id), 'the login id is not printed whole: a script on the page could take it')
  t.ok(res.body.includes(id.slice(0, 6) + '… (id hidden)'))
})

test('development keys are announced on every page; real keys are not', async (t) => {
  const dev = await demo(t, undefined, { ...KEYS, generated: ['SESSION_MAC_KEY', 'SESSION_ENC_KEY'] })
  for (const url of ['/', '/shop', '/preferences', '/sessions', '/api']) {
    t.match((await dev.inject(url)).body, /id="dev-keys"[^>]*><strong>Development keys.<\/strong> SESSION_MAC_KEY and SESSION_ENC_KEY/, url)
  }
  const real = await demo(t)
  t.notMatch((await real.inject('/')).body, /dev-keys/)
})

test('a restart on the same sessions directory keeps the logged-in session', async (t) => {
  const dir = t.testdir()
  const first = await buildDemo({ sessionsDir: dir, keys: KEYS })
  const browser = new Client(first)
  await browser.request('POST', '/login', { username: 'John' })
  await browser.request('GET', '/')
  await first.close()
  const second = await demo(t, dir)
  const res = await second.inject({ url: '/', headers: { cookie: browser.cookieHeader('/') } })
  t.match(res.body, /Hello, John/)
  t.equal(count(res), 2)
})

test('loadKeys reads hex keys from the environment and makes development keys for missing ones', async (t) => {
  const mac = 'ab'.repeat(32)
  const both = loadKeys({ SESSION_MAC_KEY: mac, SESSION_ENC_KEY: 'cd'.repeat(32) })
  t.same(both.generated, [])
  t.equal(both.mac.toString('hex'), mac)
  const none = loadKeys({})
  t.same(none.generated, ['SESSION_MAC_KEY', 'SESSION_ENC_KEY'])
  t.equal(none.mac.length, 32)
  t.not(none.mac.toString('hex'), loadKeys({}).mac.toString('hex'), 'random each time')
  t.throws(() => loadKeys({ SESSION_MAC_KEY: 'not hex' }), /SESSION_MAC_KEY must be hex/)
})

test('a short key is refused when the demo is built', async (t) => {
  await t.rejects(buildDemo({ sessionsDir: t.testdir(), keys: { ...KEYS, mac: Buffer.alloc(16) } }), { code: 'FST_SESSIONS_OPTIONS' })
})

test('parseCookies splits a Cookie header in order', async (t) => {
  t.same(parseCookies('a=1; b=x=y;c=; bad'), [['a', '1'], ['b', 'x=y'], ['c', '']])
  t.same(parseCookies(undefined), [])
})
