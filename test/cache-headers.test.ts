import { test, type Test } from 'tap'
import Type from 'typebox'
import { cookieSession, headerSession, hex, memoryStorage, messageAuthentication, type SessionsOptions } from '../lib/index.js'
import { buildApp, cookiesOf, KEY_HEX } from './helpers/app.js'

async function cacheApp (t: Test, options: Omit<SessionsOptions, 'providers'> = {}) {
  const login = cookieSession('LOGIN', Type.Object({ user: Type.String() }), { transformers: [messageAuthentication({ key: hex(KEY_HEX) })] })
  const api = headerSession('X-Session', Type.Object({ user: Type.String() }), { storage: memoryStorage() })
  const app = await buildApp(t, [login, api], options)
  app.get('/set', async (request) => { request.sessions.set(login, { user: 'a' }); request.sessions.set(api, { user: 'a' }); return 'ok' })
  // A page an application marked shareable, built from the session the client sent.
  app.get('/public-page', async (request, reply) => {
    reply.header('cache-control', 'public, max-age=60, s-maxage=600').header('vary', 'Accept-Encoding')
    return { user: request.sessions.get(login)?.user ?? 'anonymous' }
  })
  app.get('/api-page', async (request, reply) => {
    reply.header('cache-control', 'public, max-age=60')
    return { user: request.sessions.get(api)?.user ?? 'anonymous' }
  })
  app.get('/plain-page', async (request) => ({ user: request.sessions.get(login)?.user ?? 'anonymous' }))
  app.get('/static', async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=60')
    return 'the same for everyone'
  })
  const set = await app.inject('/set')
  return { app, set, cookie: cookiesOf(set.headers['set-cookie']), token: String(set.headers['x-session']) }
}

test('a response built from a session the client sent is never marked public for shared caches', async (t) => {
  const { app, cookie, token } = await cacheApp(t)
  const page = await app.inject({ url: '/public-page', headers: { cookie } })
  t.same(page.json(), { user: 'a' })
  t.equal(page.headers['cache-control'], 'private, max-age=60', 'public and s-maxage give way to private')
  t.equal(page.headers.vary, 'Accept-Encoding, Cookie', 'and Vary names the cookie')
  t.equal(page.headers['set-cookie'], undefined, 'still no Set-Cookie for a read')
  const api = await app.inject({ url: '/api-page', headers: { 'x-session': token } })
  t.equal(api.headers['cache-control'], 'private, max-age=60')
  t.equal(api.headers.vary, 'X-Session')

  const anonymous = await app.inject('/public-page')
  t.equal(anonymous.headers['cache-control'], 'public, max-age=60, s-maxage=600', 'without a session the route\'s choice stands')
  const stat = await app.inject({ url: '/static', headers: { cookie } })
  t.equal(stat.headers['cache-control'], 'public, max-age=60', 'a route that did not read the session keeps its headers')
  const plain = await app.inject({ url: '/plain-page', headers: { cookie } })
  t.equal(plain.headers['cache-control'], undefined, 'by default a read adds no header to a route that set none')
})

test('cacheControl: \'no-store\' keeps responses that set or read a session out of every cache, browsers included', async (t) => {
  const { app, set, cookie } = await cacheApp(t, { cacheControl: 'no-store' })
  t.equal(set.headers['cache-control'], 'no-store', 'a response that sets a session')
  t.equal(set.headers.vary, 'Cookie, X-Session')
  const page = await app.inject({ url: '/public-page', headers: { cookie } })
  t.equal(page.headers['cache-control'], 'no-store, max-age=60', 'a response built from the session')
  const plain = await app.inject({ url: '/plain-page', headers: { cookie } })
  t.equal(plain.headers['cache-control'], 'no-store')
  t.equal(plain.headers.vary, 'Cookie')
  const stat = await app.inject({ url: '/static', headers: { cookie } })
  t.equal(stat.headers['cache-control'], 'public, max-age=60', 'a route that did not read the session keeps its headers')
  const anonymous = await app.inject('/plain-page')
  t.equal(anonymous.headers['cache-control'], undefined, 'nor does a request without a session')
})

test('cacheControl accepts only private and no-store', async (t) => {
  const login = cookieSession('LOGIN', Type.Object({ user: Type.String() }), { transformers: [messageAuthentication({ key: hex(KEY_HEX) })] })
  await t.rejects(buildApp(t, [login], { cacheControl: 'public' as 'private' }), { code: 'FST_SESSIONS_OPTIONS' })
})
