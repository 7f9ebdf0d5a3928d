import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'tap'
import Type from 'typebox'
import { cookieSession, memoryStorage } from '../lib/index.js'
import { buildApp, cookiesOf } from './helpers/app.js'

test('a slow request that writes a session cannot bring it back after a logout', async (t) => {
  for (const concurrency of ['last-write-wins', 'reject'] as const) {
    const counter = cookieSession('COUNTER', Type.Object({ n: Type.Integer() }), { storage: memoryStorage(), concurrency })
    const app = await buildApp(t, [counter])
    app.get('/start', async (request) => { request.sessions.set(counter, { n: 0 }); return 'ok' })
    app.get('/slow-count', async (request) => {
      const s = request.sessions.get(counter)
      await sleep(50)
      if (s !== null) request.sessions.set(counter, { n: s.n + 1 })
      return 'ok'
    })
    app.get('/logout', async (request) => { request.sessions.clear(counter); return 'ok' })
    app.get('/read', async (request) => ({ s: request.sessions.get(counter) }))
    const cookie = cookiesOf((await app.inject('/start')).headers['set-cookie'])
    const slow = app.inject({ url: '/slow-count', headers: { cookie } })
    await sleep(10)
    t.equal((await app.inject({ url: '/logout', headers: { cookie } })).statusCode, 200)
    const late = await slow
    t.equal(late.statusCode, 409, `${concurrency}: the late write is a conflict`)
    t.equal(late.json().code, 'FST_SESSIONS_CONFLICT')
    t.same((await app.inject({ url: '/read', headers: { cookie } })).json(), { s: null }, `${concurrency}: replaying the old cookie finds nothing`)
  }
})

test('a slow request cannot bring back the old id after a regenerate', async (t) => {
  const login = cookieSession('LOGIN', Type.Object({ user: Type.String() }), { storage: memoryStorage() })
  const app = await buildApp(t, [login])
  app.get('/login', async (request) => { request.sessions.set(login, { user: 'a' }); return 'ok' })
  app.get('/slow', async (request) => {
    const s = request.sessions.get(login)
    await sleep(50)
    if (s !== null) request.sessions.set(login, { user: s.user + '!' })
    return 'ok'
  })
  app.get('/regenerate', async (request) => { request.sessions.regenerate(login); return 'ok' })
  app.get('/read', async (request) => ({ s: request.sessions.get(login) }))
  const old = cookiesOf((await app.inject('/login')).headers['set-cookie'])
  const slow = app.inject({ url: '/slow', headers: { cookie: old } })
  await sleep(10)
  const fresh = cookiesOf((await app.inject({ url: '/regenerate', headers: { cookie: old } })).headers['set-cookie'])
  t.equal((await slow).statusCode, 409)
  t.same((await app.inject({ url: '/read', headers: { cookie: old } })).json(), { s: null })
  t.same((await app.inject({ url: '/read', headers: { cookie: fresh } })).json(), { s: { user: 'a' } })
})

test('with last-write-wins, a change made meanwhile is overwritten, not refused', async (t) => {
  const counter = cookieSession('COUNTER', Type.Object({ n: Type.Integer() }), { storage: memoryStorage() })
  const app = await buildApp(t, [counter])
  app.get('/start', async (request) => { request.sessions.set(counter, { n: 0 }); return 'ok' })
  app.get('/set', async (request) => {
    const { n, wait } = request.query as { n: string, wait: string }
    request.sessions.get(counter)
    await sleep(Number(wait))
    request.sessions.set(counter, { n: Number(n) })
    return 'ok'
  })
  app.get('/read', async (request) => request.sessions.get(counter))
  const cookie = cookiesOf((await app.inject('/start')).headers['set-cookie'])
  const [slow, fast] = await Promise.all([
    app.inject({ url: '/set?n=1&wait=60', headers: { cookie } }),
    app.inject({ url: '/set?n=2&wait=0', headers: { cookie } }),
  ])
  t.equal(fast.statusCode, 200)
  t.equal(slow.statusCode, 200)
  t.same((await app.inject({ url: '/read', headers: { cookie } })).json(), { n: 1 }, 'the later write wins')
})
