import Fastify from 'fastify'
import { test, type Test } from 'tap'
import Type, { type Static } from 'typebox'
import sessions, { cookieSession, memoryStorage, sessionCompat, type CompatSession } from '../lib/index.js'

// sessionCompat's own surface, under another decorator name (request.session's type belongs to
// @fastify/secure-session's declarations, which passport and flash bring in).

const Profile = Type.Object({ visits: Type.Optional(Type.Integer()), theme: Type.Optional(Type.String()), cart: Type.Optional(Type.Array(Type.String())) })
type ProfileData = Static<typeof Profile>

declare module 'fastify' {
  interface FastifyRequest { bag: CompatSession<ProfileData> }
}

async function compatApp (t: Test) {
  const main = cookieSession('sessionId', Profile, { storage: memoryStorage(), maxAgeLimit: 30 * 86400 })
  const app = Fastify()
  await app.register(sessions, { providers: [main] })
  await app.register(sessionCompat, { provider: main, decorator: 'bag' })
  t.teardown(() => app.close())
  return { app, main }
}

function cookie (res: { cookies: Array<{ name: string, value: string }> }): string {
  return `sessionId=${res.cookies.find((c) => c.name === 'sessionId')?.value ?? ''}`
}

test('property access reads and writes the payload, written in onSend once', async (t) => {
  const { app, main } = await compatApp(t)
  app.get('/visit', async (request) => {
    request.bag.visits = (request.bag.get('visits') ?? 0) + 1
    request.bag.theme = 'dark'
    return { visits: request.bag.visits, keys: Object.keys(request.bag), inside: request.sessions.get(main) }
  })
  const first = await app.inject({ method: 'GET', url: '/visit' })
  t.same(first.json().visits, 1)
  t.same(first.json().keys, ['visits', 'theme'], 'Object.keys lists the payload')
  t.equal(first.json().inside, null, 'not set before the response goes out')
  t.equal(first.cookies.length, 1)
  const second = await app.inject({ method: 'GET', url: '/visit', headers: { cookie: cookie(first) } })
  t.same(second.json().inside, { visits: 1, theme: 'dark' }, 'the next request reads it through request.sessions')
  t.equal(second.json().visits, 2)
})

test('a value the schema refuses throws in the handler; a nested change is written', async (t) => {
  const { app } = await compatApp(t)
  app.get('/bad', async (request) => {
    try {
      request.bag.set('visits', 'many' as unknown as number)
      return 'accepted'
    } catch (error) {
      return { code: (error as { code: string }).code }
    }
  })
  app.get('/add', async (request) => {
    const cart = request.bag.get('cart')
    if (cart === undefined) request.bag.set('cart', ['a'])
    else cart.push('b')
    return request.bag.data()
  })
  app.get('/read', async (request) => ({ sessionId: request.bag.sessionId, data: request.bag.data() }))
  const bad = await app.inject({ method: 'GET', url: '/bad' })
  t.same(bad.json(), { code: 'FST_SESSIONS_INVALID_PAYLOAD' })
  t.equal(bad.cookies.length, 0, 'nothing written')
  const first = await app.inject({ method: 'GET', url: '/add' })
  const second = await app.inject({ method: 'GET', url: '/add', headers: { cookie: cookie(first) } })
  t.same(second.json(), { cart: ['a', 'b'] })
  const read = await app.inject({ method: 'GET', url: '/read', headers: { cookie: cookie(first) } })
  t.same(read.json().data, { cart: ['a', 'b'] }, 'a change inside a value is seen and written')
  t.match(read.json().sessionId, /^[\w-]{43}$/, 'sessionId is the id the client holds')
})

test('delete ends the session; regenerate keeps the keys asked for under a new id; options sets maxAge', async (t) => {
  const { app } = await compatApp(t)
  app.get('/start', async (request) => {
    request.bag.visits = 1
    request.bag.theme = 'light'
    return 'ok'
  })
  app.get('/regenerate', async (request) => {
    await request.bag.regenerate(['theme'])
    request.bag.options({ maxAge: 30 * 86400 })
    return 'ok'
  })
  app.get('/read', async (request) => ({ data: request.bag.data() }))
  app.get('/delete', async (request) => {
    request.bag.delete()
    return 'ok'
  })
  const start = await app.inject({ method: 'GET', url: '/start' })
  const regenerated = await app.inject({ method: 'GET', url: '/regenerate', headers: { cookie: cookie(start) } })
  t.not(cookie(regenerated), cookie(start), 'a new id')
  t.equal(regenerated.cookies[0]?.maxAge, 30 * 86400, 'options({ maxAge }) gives the session its own lifetime')
  t.same((await app.inject({ method: 'GET', url: '/read', headers: { cookie: cookie(regenerated) } })).json(), { data: { theme: 'light' } })
  t.same((await app.inject({ method: 'GET', url: '/read', headers: { cookie: cookie(start) } })).json(), { data: {} }, 'the old id is dead')
  const deleted = await app.inject({ method: 'GET', url: '/delete', headers: { cookie: cookie(regenerated) } })
  t.equal(deleted.cookies[0]?.maxAge, 0, 'delete expires the cookie')
  t.same((await app.inject({ method: 'GET', url: '/read', headers: { cookie: cookie(regenerated) } })).json(), { data: {} })
})

test('sessionCompat needs fastify-sessions first, and refuses a decorator already taken', async (t) => {
  const main = cookieSession('sessionId', Profile, { storage: memoryStorage() })
  const alone = Fastify()
  t.teardown(() => alone.close())
  await t.rejects(async () => { await alone.register(sessionCompat, { provider: main }) })
  const taken = Fastify()
  t.teardown(() => taken.close())
  taken.decorateRequest('profile', null)
  await taken.register(sessions, { providers: [main] })
  await t.rejects(async () => { await taken.register(sessionCompat, { provider: main, decorator: 'profile' }) }, { code: 'FST_SESSIONS_OPTIONS', message: /already decorated/ })
})
