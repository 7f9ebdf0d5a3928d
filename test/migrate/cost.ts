import { test } from 'tap'
import type { Test } from 'tap'
import Type from 'typebox'
import { cookieSession, memoryStorage, type SessionMigration } from '../../lib/index.js'
import { buildApp, cookiesOf, setCookies } from '../helpers/app.js'

const User = Type.Object({ user: Type.String() })

/** A user-written migration (the SessionMigration contract) that counts its reads. */
function counting (): { migration: SessionMigration<{ user: string }>, reads: () => number } {
  let reads = 0
  const migration: SessionMigration<{ user: string }> = {
    cookieName: 'old',
    expireCookie: 'old=; Path=/; Max-Age=0',
    read (raw) {
      reads++
      return raw === 'ada' ? { payload: { user: 'ada' } } : null
    },
  }
  return { migration, reads: () => reads }
}

async function appWith (t: Test, migration: SessionMigration<{ user: string }>) {
  const login = cookieSession('app_session', User, { storage: memoryStorage(), migrate: [migration] })
  const app = await buildApp(t, [login])
  app.get('/', async (request) => ({ user: request.sessions.get(login)?.user ?? null }))
  app.get('/plain', { config: { sessions: [] } }, async () => 'no sessions here')
  return app
}

test('a migration is read only for a request that carries its cookie and no session of the provider', async (t) => {
  const { migration, reads } = counting()
  const app = await appWith(t, migration)
  await app.inject('/')
  await app.inject({ url: '/', headers: { cookie: 'other=1; older=ada; xold=ada' } })
  t.equal(reads(), 0, 'no Cookie header, or none of its cookie: never read')
  await app.inject({ url: '/plain', headers: { cookie: 'old=ada' } })
  t.equal(reads(), 0, 'a route that does not load the provider does not migrate')
  const moved = await app.inject({ url: '/', headers: { cookie: 'old=ada' } })
  t.same(moved.json(), { user: 'ada' })
  t.equal(reads(), 1)
  t.ok(setCookies(moved.headers['set-cookie']).includes('old=; Path=/; Max-Age=0'), 'the line the migration gave expires the old cookie')
  const ours = cookiesOf(setCookies(moved.headers['set-cookie']).filter((l) => l.startsWith('app_session=')))
  const again = await app.inject({ url: '/', headers: { cookie: `${ours}; old=ada` } })
  t.same(again.json(), { user: 'ada' })
  t.equal(reads(), 1, 'a request with our session never reads the old cookie')
})

test('the old session is ended only once the new one is stored: a failed write keeps it for the next try', async (t) => {
  let retired = 0
  const migration: SessionMigration<{ user: string }> = {
    cookieName: 'old',
    expireCookie: 'old=; Path=/; Max-Age=0',
    read: async () => ({ payload: { user: 'ada' }, retire: async () => { retired++ } }),
  }
  const failing = {
    read: async () => null,
    write: async () => { throw new Error('storage is down') },
    invalidate: async () => {},
  }
  const login = cookieSession('app_session', User, { storage: failing, migrate: [migration] })
  const app = await buildApp(t, [login])
  app.get('/', async (request) => ({ user: request.sessions.get(login)?.user ?? null }))
  const res = await app.inject({ url: '/', headers: { cookie: 'old=1' } })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'FST_SESSIONS_STORAGE_UNAVAILABLE')
  t.equal(retired, 0, 'the old session was not ended')
  t.same(setCookies(res.headers['set-cookie']), [], 'nor its cookie expired')
})
