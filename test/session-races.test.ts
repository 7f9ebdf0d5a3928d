// Races between the requests of one session, on every storage: a request that outlives a logout,
// a regenerate or a change made meanwhile. The slow request is held by its body, which the test
// sends in two parts (an event, not a timer), and the other request runs in between.
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test, type Test } from 'tap'
import Type from 'typebox'
import { cookieSession, directoryStorage, memoryStorage, redisStorage, type SessionStorage } from '../lib/index.js'
import { buildApp, cookiesOf, setCookies } from './helpers/app.js'
import { redisSkip, startRedis } from './helpers/redis.js'

const Login = Type.Object({ user: Type.String(), n: Type.Integer() })

type Action = 'get-set' | 'get-set-regenerate' | 'regenerate' | 'regenerate-set' | 'regenerate-clear' | 'clear-set' | 'reload'

interface Slow {
  /** Resolves once the server holds the request (its session loaded), before the body ends. */
  started: Promise<void>
  /** Sends the rest of the body and resolves to the response. */
  finish (): Promise<{ status: number, body: string, setCookie: string[] }>
}

/**
 * An app on a real port with one server-side session on `storage`: POST /act reads a body that the
 * test sends in two parts, then does `action` to the session. The test logs out in between.
 */
async function raceApp (t: Test, storage: SessionStorage, concurrency: 'last-write-wins' | 'reject' = 'last-write-wins') {
  const login = cookieSession('LOGIN', Login, { storage, concurrency })
  const app = await buildApp(t, [login])
  let arrived: (() => void) | undefined
  app.addHook('preParsing', async (request) => { if (request.url.startsWith('/act')) arrived?.() })
  app.post('/login', async (request) => { request.sessions.set(login, { user: 'alice', n: 0 }); return 'ok' })
  app.post('/logout', async (request) => { request.sessions.clear(login); return 'bye' })
  app.post('/change', async (request) => { request.sessions.set(login, { user: 'alice', n: 100 }); return 'ok' })
  app.post('/regenerate', async (request) => { request.sessions.regenerate(login); return 'ok' })
  app.get('/read', async (request) => ({ s: request.sessions.get(login) }))
  app.post('/act', async (request) => {
    const action = (request.query as { action: Action }).action
    const s = request.sessions.get(login)
    if (action === 'reload') return { before: s, now: await request.sessions.reload(login) }
    if (action === 'get-set') {
      if (s !== null) request.sessions.set(login, { user: s.user, n: s.n + 1 })
    } else if (action === 'get-set-regenerate') {
      if (s !== null) request.sessions.set(login, { user: s.user, n: s.n + 1 })
      request.sessions.regenerate(login)
    } else if (action === 'regenerate') {
      request.sessions.regenerate(login)
    } else if (action === 'regenerate-set') {
      request.sessions.regenerate(login)
      request.sessions.set(login, { user: s?.user ?? 'nobody', n: 7 })
    } else if (action === 'regenerate-clear') {
      request.sessions.regenerate(login)
      request.sessions.clear(login)
    } else {
      request.sessions.clear(login)
      request.sessions.set(login, { user: 'bob', n: 0 })
    }
    return { body: request.body }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const base = `http://127.0.0.1:${port}`

  const slow = (action: Action, cookie: string): Slow => {
    const started = new Promise<void>((resolve) => { arrived = resolve })
    let req: ClientRequest | undefined
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      req = httpRequest(`${base}/act?action=${action}`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      }, resolve)
      req.on('error', reject)
      req.write('{"part":')
    })
    return {
      started,
      async finish () {
        req?.end('1}')
        const res = await response
        let body = ''
        for await (const chunk of res) body += String(chunk)
        return { status: res.statusCode ?? 0, body, setCookie: setCookies(res.headers['set-cookie']) }
      },
    }
  }
  const post = async (path: string, cookie = ''): Promise<Response> =>
    fetch(base + path, { method: 'POST', headers: cookie === '' ? {} : { cookie } })
  const read = async (cookie: string): Promise<unknown> =>
    (await (await fetch(`${base}/read`, { headers: { cookie } })).json() as { s: unknown }).s
  return { slow, post, read }
}

async function loggedIn (app: Awaited<ReturnType<typeof raceApp>>): Promise<string> {
  return cookiesOf((await app.post('/login')).headers.getSetCookie())
}

function storages (t: Test): Array<[string, () => Promise<SessionStorage>]> {
  const skip = redisSkip(t)
  const list: Array<[string, () => Promise<SessionStorage>]> = [
    ['memoryStorage', async () => memoryStorage()],
    ['directoryStorage', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'fss-regenerate-'))
      t.teardown(() => rmSync(dir, { recursive: true, force: true }))
      return directoryStorage(dir)
    }],
  ]
  if (skip === false) {
    list.push(['redisStorage', async () => {
      const server = await startRedis(t)
      return redisStorage({ url: server.url })
    }])
  }
  return list
}

/** Each action, in a request that outlives a logout, on every storage and in both modes: a 409, and the session stays ended. */
async function outlivesLogout (t: Test, actions: readonly Action[]): Promise<void> {
  for (const [name, make] of storages(t)) {
    for (const action of actions) {
      for (const concurrency of ['last-write-wins', 'reject'] as const) {
        const label = `${name}, ${action}, ${concurrency}`
        const app = await raceApp(t, await make(), concurrency)
        const cookie = await loggedIn(app)
        const slow = app.slow(action, cookie)
        await slow.started
        t.equal((await app.post('/logout', cookie)).status, 200, `${label}: logout`)
        const late = await slow.finish()
        t.equal(late.status, 409, `${label}: the late write is a conflict`)
        t.equal(JSON.parse(late.body).code, 'FST_SESSIONS_CONFLICT', `${label}: its code`)
        t.same(late.setCookie, [], `${label}: no cookie is issued`)
        t.equal(await app.read(cookie), null, `${label}: the old cookie reads nothing`)
      }
    }
  }
}

test('a slow request that writes a session cannot bring it back after a logout', async (t) => {
  await outlivesLogout(t, ['get-set'])
})

test('a regenerate in a request that outlives a logout does not revive the session', async (t) => {
  await outlivesLogout(t, ['get-set-regenerate', 'regenerate', 'regenerate-set'])
})

test('regenerate-then-clear and clear-then-set in a request that outlives a logout', async (t) => {
  for (const [name, make] of storages(t)) {
    const app = await raceApp(t, await make())
    let cookie = await loggedIn(app)
    let slow = app.slow('regenerate-clear', cookie)
    await slow.started
    await app.post('/logout', cookie)
    let late = await slow.finish()
    t.equal(late.status, 200, `${name}: regenerate then clear ends the session: nothing to conflict with`)
    t.equal(await app.read(cookie), null, `${name}: the old cookie reads nothing`)

    // clear then set starts a new session from the handler's own data (a fresh login): the
    // session the logout ended is not brought back, so there is nothing to refuse.
    cookie = await loggedIn(app)
    slow = app.slow('clear-set', cookie)
    await slow.started
    await app.post('/logout', cookie)
    late = await slow.finish()
    t.equal(late.status, 200, `${name}: clear then set issues a new session`)
    const fresh = cookiesOf(late.setCookie)
    t.not(fresh, cookie, `${name}: under a new id`)
    t.same(await app.read(fresh), { user: 'bob', n: 0 }, `${name}: with the handler's data only`)
    t.equal(await app.read(cookie), null, `${name}: the old cookie reads nothing`)
  }
})

test('a slow request cannot bring back the old id after a regenerate', async (t) => {
  for (const [name, make] of storages(t)) {
    const app = await raceApp(t, await make())
    const old = await loggedIn(app)
    const slow = app.slow('get-set', old)
    await slow.started
    const fresh = cookiesOf((await app.post('/regenerate', old)).headers.getSetCookie())
    const late = await slow.finish()
    t.equal(late.status, 409, `${name}: the late write is a conflict`)
    t.equal(JSON.parse(late.body).code, 'FST_SESSIONS_CONFLICT', `${name}: its code`)
    t.same(late.setCookie, [], `${name}: no cookie is issued`)
    t.equal(await app.read(old), null, `${name}: the old id reads nothing`)
    t.same(await app.read(fresh), { user: 'alice', n: 0 }, `${name}: the new id has the session`)
  }
})

test('a write or a regenerate after a concurrent change: last-write-wins overwrites it, reject refuses', async (t) => {
  for (const action of ['get-set', 'get-set-regenerate'] as const) {
    for (const concurrency of ['last-write-wins', 'reject'] as const) {
      const label = `${action}, ${concurrency}`
      const app = await raceApp(t, memoryStorage(), concurrency)
      const cookie = await loggedIn(app)
      const slow = app.slow(action, cookie)
      await slow.started
      t.equal((await app.post('/change', cookie)).status, 200)
      const late = await slow.finish()
      if (concurrency === 'reject') {
        t.equal(late.status, 409, `${label}: a conflict`)
        t.same(late.setCookie, [], `${label}: no cookie`)
        t.same(await app.read(cookie), { user: 'alice', n: 100 }, `${label}: the session keeps the other request's change`)
      } else if (action === 'get-set') {
        t.equal(late.status, 200, `${label}: the write goes through, not refused`)
        t.same(await app.read(cookie), { user: 'alice', n: 1 }, `${label}: the later write wins`)
      } else {
        t.equal(late.status, 200, `${label}: the regenerate goes through`)
        t.equal(await app.read(cookie), null, `${label}: the old id is dead`)
        t.same(await app.read(cookiesOf(late.setCookie)), { user: 'alice', n: 1 }, `${label}: the later write wins`)
      }
    }
  }
})

test('a handler that only reads can re-check its session with reload() before it acts', async (t) => {
  for (const [name, make] of storages(t)) {
    const app = await raceApp(t, await make())
    const cookie = await loggedIn(app)
    let slow = app.slow('reload', cookie)
    await slow.started
    let late = await slow.finish()
    t.same(JSON.parse(late.body), { before: { user: 'alice', n: 0 }, now: { user: 'alice', n: 0 } }, `${name}: unchanged, reload reads the same`)
    slow = app.slow('reload', cookie)
    await slow.started
    await app.post('/logout', cookie)
    late = await slow.finish()
    t.equal(late.status, 200)
    t.same(JSON.parse(late.body), { before: { user: 'alice', n: 0 }, now: null }, `${name}: the snapshot still has the user, reload sees the logout`)
    t.same(late.setCookie, [], `${name}: a read sends nothing`)
  }
})
