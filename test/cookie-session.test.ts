import { test } from 'tap'
import Type from 'typebox'
import { cookieSession, hex, messageAuthentication } from '../lib/index.js'
import { buildApp, cookiesOf, fakeClock, KEY_HEX, setCookies } from './helpers/app.js'

const key = hex(KEY_HEX)
const Login = () => Type.Object({ username: Type.String(), count: Type.Integer() })
const signed = (name = 'LOGIN', options = {}) =>
  cookieSession(name, Login(), { transformers: [messageAuthentication({ key })], ...options })

test('a session set in one request reads back in the next', async (t) => {
  const login = signed()
  const app = await buildApp(t, [login])
  app.get('/', async (request) => {
    const s = request.sessions.get(login)
    request.sessions.set(login, { username: 'John', count: (s?.count ?? 0) + 1 })
    return { before: s }
  })
  const first = await app.inject('/')
  t.same(first.json(), { before: null })
  const second = await app.inject({ url: '/', headers: { cookie: cookiesOf(first.headers['set-cookie']) } })
  t.same(second.json(), { before: { username: 'John', count: 1 } })
  const third = await app.inject({ url: '/', headers: { cookie: cookiesOf(second.headers['set-cookie']) } })
  t.same(third.json(), { before: { username: 'John', count: 2 } })
})

test('the cookie has Path=/, HttpOnly, SameSite=Lax and a 7-day Max-Age by default, and no Secure over http', async (t) => {
  const login = signed()
  const app = await buildApp(t, [login])
  app.get('/', async (request) => { request.sessions.set(login, { username: 'a', count: 1 }); return 'ok' })
  const res = await app.inject('/')
  t.equal(res.cookies.length, 1)
  const [cookie] = res.cookies
  t.equal(cookie?.name, 'LOGIN')
  t.equal(cookie?.path, '/')
  t.equal(cookie?.httpOnly, true)
  t.equal(cookie?.sameSite, 'Lax')
  t.equal(cookie?.maxAge, 604800)
  t.ok(cookie?.expires !== undefined && cookie.expires.getTime() > Date.now() + 6 * 86400_000)
  t.equal(cookie?.secure, undefined)
})

test('secure: auto sets Secure when the request came over https', async (t) => {
  const login = signed()
  const app = await buildApp(t, [login], { fastify: { trustProxy: true } })
  app.get('/', async (request) => { request.sessions.set(login, { username: 'a', count: 1 }); return 'ok' })
  const res = await app.inject({ url: '/', headers: { 'x-forwarded-proto': 'https' } })
  t.equal(res.cookies[0]?.secure, true)
})

test('cookie options are rendered in Ktor\'s order', async (t) => {
  const login = signed('LOGIN', {
    cookie: { path: '/app', domain: 'example.com', secure: true, sameSite: 'strict', partitioned: true, priority: 'high', extensions: { Foo: 'bar' } },
    maxAge: 3600,
  })
  const app = await buildApp(t, [login])
  app.get('/app', async (request) => { request.sessions.set(login, { username: 'a', count: 1 }); return 'ok' })
  const res = await app.inject('/app')
  const line = setCookies(res.headers['set-cookie'])[0] as string
  t.match(line, /^LOGIN=[^;]+; Max-Age=3600; Expires=[^;]+ GMT; Domain=example\.com; Path=\/app; Secure; HttpOnly; SameSite=Strict; Partitioned; Priority=High; Foo=bar$/)
})

test('a later set keeps the absolute lifetime: Max-Age is what remains', async (t) => {
  const clock = fakeClock(t)
  const login = signed('LOGIN', { maxAge: 1000 })
  const app = await buildApp(t, [login])
  app.get('/', async (request) => {
    const s = request.sessions.get(login)
    request.sessions.set(login, { username: 'a', count: (s?.count ?? 0) + 1 })
    return 'ok'
  })
  const first = await app.inject('/')
  t.equal(first.cookies[0]?.maxAge, 1000)
  clock.advance(400_000)
  const second = await app.inject({ url: '/', headers: { cookie: cookiesOf(first.headers['set-cookie']) } })
  t.equal(second.cookies[0]?.maxAge, 600)
})

test('cookie.maxAge null makes a browser-session cookie', async (t) => {
  const login = signed('LOGIN', { cookie: { maxAge: null } })
  const app = await buildApp(t, [login])
  app.get('/', async (request) => { request.sessions.set(login, { username: 'a', count: 1 }); return 'ok' })
  const line = setCookies((await app.inject('/')).headers['set-cookie'])[0] as string
  t.notMatch(line, /Max-Age|Expires/)
})

test('a request that only reads sends no Set-Cookie and no cache headers', async (t) => {
  const login = signed()
  const app = await buildApp(t, [login])
  app.get('/set', async (request) => { request.sessions.set(login, { username: 'a', count: 1 }); return 'ok' })
  app.get('/read', async (request) => request.sessions.get(login))
  const cookie = cookiesOf((await app.inject('/set')).headers['set-cookie'])
  const read = await app.inject({ url: '/read', headers: { cookie } })
  t.same(read.json(), { username: 'a', count: 1 })
  t.equal(read.headers['set-cookie'], undefined)
  t.equal(read.headers['cache-control'], undefined)
  t.equal(read.headers.vary, undefined)
})

test('a response that sets a session is private to the browser', async (t) => {
  const login = signed()
  const app = await buildApp(t, [login])
  app.get('/plain', async (request) => { request.sessions.set(login, { username: 'a', count: 1 }); return 'ok' })
  app.get('/public', async (request, reply) => {
    reply.header('cache-control', 'public, max-age=60, s-maxage=600').header('vary', 'Accept-Encoding')
    request.sessions.set(login, { username: 'a', count: 1 })
    return 'ok'
  })
  app.get('/no-store', async (request, reply) => {
    reply.header('cache-control', 'no-store')
    request.sessions.set(login, { username: 'a', count: 1 })
    return 'ok'
  })
  const plain = await app.inject('/plain')
  t.equal(plain.headers['cache-control'], 'private')
  t.equal(plain.headers.vary, 'Cookie')
  const pub = await app.inject('/public')
  t.equal(pub.headers['cache-control'], 'private, max-age=60')
  t.equal(pub.headers.vary, 'Accept-Encoding, Cookie')
  const noStore = await app.inject('/no-store')
  t.equal(noStore.headers['cache-control'], 'no-store')
})

test('clear expires the cookie, and the next get is null', async (t) => {
  const login = signed()
  const app = await buildApp(t, [login])
  app.get('/set', async (request) => { request.sessions.set(login, { username: 'a', count: 1 }); return 'ok' })
  app.get('/logout', async (request) => {
    request.sessions.clear(login)
    return { after: request.sessions.get(login) }
  })
  const cookie = cookiesOf((await app.inject('/set')).headers['set-cookie'])
  const res = await app.inject({ url: '/logout', headers: { cookie } })
  t.same(res.json(), { after: null })
  const line = setCookies(res.headers['set-cookie'])[0] as string
  t.equal(line, 'LOGIN=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; HttpOnly; SameSite=Lax')
  t.equal(res.headers['cache-control'], 'private')
})

test('clear when the request carried no session sends nothing, and so does set then clear', async (t) => {
  const login = signed()
  const app = await buildApp(t, [login])
  app.get('/clear', async (request) => { request.sessions.clear(login); return 'ok' })
  app.get('/set-clear', async (request) => {
    request.sessions.set(login, { username: 'a', count: 1 })
    request.sessions.clear(login)
    return 'ok'
  })
  t.equal((await app.inject('/clear')).headers['set-cookie'], undefined)
  t.equal((await app.inject('/set-clear')).headers['set-cookie'], undefined)
})

test('several sessions live side by side, each with its own cookie', async (t) => {
  const login = signed('LOGIN')
  const cart = cookieSession('CART', Type.Object({ items: Type.Array(Type.String()) }), {
    transformers: [messageAuthentication({ key })],
    cookie: { path: '/shop' },
  })
  const app = await buildApp(t, [login, cart])
  app.get('/shop/add', async (request) => {
    request.sessions.set(login, { username: 'a', count: 1 })
    const c = request.sessions.getOrSet(cart, () => ({ items: [] }))
    request.sessions.set(cart, { items: [...c.items, 'apple'] })
    return 'ok'
  })
  app.get('/shop', async (request) => ({ login: request.sessions.get('LOGIN'), cart: request.sessions.get('CART') }))
  const res = await app.inject('/shop/add')
  t.equal(res.cookies.length, 2)
  t.equal(res.cookies.find((c) => c.name === 'CART')?.path, '/shop')
  const read = await app.inject({ url: '/shop', headers: { cookie: cookiesOf(res.headers['set-cookie']) } })
  t.same(read.json(), { login: { username: 'a', count: 1 }, cart: { items: ['apple'] } })
})

test('getOrSet returns the current payload or sets and returns a new one', async (t) => {
  const login = signed()
  const app = await buildApp(t, [login])
  let made = 0
  app.get('/', async (request) => request.sessions.getOrSet(login, () => { made++; return { username: 'new', count: 0 } }))
  const first = await app.inject('/')
  t.same(first.json(), { username: 'new', count: 0 })
  t.equal(first.cookies.length, 1)
  const second = await app.inject({ url: '/', headers: { cookie: cookiesOf(first.headers['set-cookie']) } })
  t.same(second.json(), { username: 'new', count: 0 })
  t.equal(second.headers['set-cookie'], undefined)
  t.equal(made, 1)
})

test('when a cookie name appears twice, the first value is used', async (t) => {
  const login = signed()
  const app = await buildApp(t, [login])
  app.get('/set', async (request) => {
    const n = Number((request.query as { n: string }).n)
    request.sessions.set(login, { username: 'u' + n, count: n })
    return 'ok'
  })
  app.get('/read', async (request) => request.sessions.get(login))
  const one = cookiesOf((await app.inject('/set?n=1')).headers['set-cookie'])
  const two = cookiesOf((await app.inject('/set?n=2')).headers['set-cookie'])
  const res = await app.inject({ url: '/read', headers: { cookie: `OTHER=x; ${two}; ${one}` } })
  t.same(res.json(), { username: 'u2', count: 2 })
})

test('a cookie whose name merely starts with the session name is not the session', async (t) => {
  const login = signed()
  const app = await buildApp(t, [login])
  app.get('/set', async (request) => { request.sessions.set(login, { username: 'a', count: 1 }); return 'ok' })
  app.get('/read', async (request) => ({ s: request.sessions.get(login) }))
  const value = cookiesOf((await app.inject('/set')).headers['set-cookie']).slice('LOGIN='.length)
  const res = await app.inject({ url: '/read', headers: { cookie: `LOGINX=${value}` } })
  t.same(res.json(), { s: null })
})

test('sessions are written whatever the response status', async (t) => {
  const login = signed()
  const app = await buildApp(t, [login])
  app.get('/', async (request, reply) => {
    request.sessions.set(login, { username: 'a', count: 1 })
    return reply.code(404).send({ missing: true })
  })
  const res = await app.inject('/')
  t.equal(res.statusCode, 404)
  t.equal(res.cookies.length, 1)
})

test('a redirect right after a login already carries the new session', async (t) => {
  const login = signed()
  const app = await buildApp(t, [login])
  app.post('/login', async (request, reply) => {
    request.sessions.set(login, { username: 'a', count: 0 })
    return reply.redirect('/home')
  })
  app.get('/home', async (request) => request.sessions.get(login))
  const res = await app.inject({ method: 'POST', url: '/login' })
  t.equal(res.statusCode, 302)
  const home = await app.inject({ url: res.headers.location as string, headers: { cookie: cookiesOf(res.headers['set-cookie']) } })
  t.same(home.json(), { username: 'a', count: 0 })
})

test('every Ktor cookie encoding round-trips through a real app', async (t) => {
  for (const encoding of ['uri', 'base64', 'dquotes', 'raw'] as const) {
    const s = cookieSession('S_' + encoding, Type.Object({ v: Type.String() }), {
      transformers: [messageAuthentication({ key })],
      cookie: { encoding },
      serializer: { serialize: (x) => x.v, deserialize: (v) => ({ v }) },
      envelope: encoding !== 'raw' && encoding !== 'dquotes',
    })
    const app = await buildApp(t, [s])
    app.get('/set', async (request) => { request.sessions.set(s, { v: 'plain-value_1' }); return 'ok' })
    app.get('/read', async (request) => ({ s: request.sessions.get(s) }))
    const set = await app.inject('/set')
    const read = await app.inject({ url: '/read', headers: { cookie: cookiesOf(set.headers['set-cookie']) } })
    t.same(read.json(), { s: { v: 'plain-value_1' } }, encoding)
  }
})
