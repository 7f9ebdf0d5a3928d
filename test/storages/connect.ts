import { randomBytes } from 'node:crypto'
import t, { test } from 'tap'
import type { Test } from 'tap'
import pg from 'pg'
import connectPgSimple from 'connect-pg-simple'
import expressSession from 'express-session'
import RedisStore from 'connect-redis'
import { Redis } from 'ioredis'
import Type from 'typebox'
import { cookieSession, connectStore, type ConnectStore } from '../../lib/index.js'
import { storageConformance, type MakeStorage } from '../../testing/index.js'
import { buildApp, cookiesOf } from '../helpers/app.js'
import { postgresSkip, startPostgres } from '../helpers/postgres.js'
import { redisSkip, startRedis } from '../helpers/redis.js'

// The stores expire entries by their own clocks (Redis TTLs, PostgreSQL's now()), which a faked
// Date.now cannot move; the real-time expiry case covers them.
const FAKE_CLOCK = 'the store judges expiry by its own clock; a faked Date.now cannot move it'

async function conformance (t: Test, make: MakeStorage, ownClock = true): Promise<void> {
  t.ok(storageConformance.length > 10, 'the suite has its cases')
  const probe = await make()
  for (const c of storageConformance) {
    // connectStore has no touch, compareAndWrite or close: a connect store cannot do them.
    const skip = c.requires !== undefined && probe[c.requires] === undefined ? `connectStore has no ${c.requires}` : c.fakeClock && ownClock ? FAKE_CLOCK : false
    await t.test(c.name, { skip }, async (t) => {
      await t.resolves(c.run(make))
    })
  }
}

test('connectStore(express-session MemoryStore) passes the storage conformance suite', async (t) => {
  const store = new expressSession.MemoryStore()
  // The MemoryStore judges expiry by Date.now, as connectStore does: the fake-clock cases run too.
  await conformance(t, () => connectStore(store as unknown as ConnectStore), false)
})

const redisSkipped = redisSkip(t)
const postgresSkipped = postgresSkip(t)

test('connectStore(connect-redis 7) passes the storage conformance suite on a real redis-server', { skip: redisSkipped }, async (t) => {
  const server = await startRedis(t)
  const client = new Redis(server.port, '127.0.0.1')
  t.teardown(() => client.disconnect())
  await conformance(t, () => connectStore(new RedisStore({ client, prefix: `sess:${randomBytes(4).toString('hex')}:` })))
})

test('connectStore(connect-pg-simple) passes the storage conformance suite on a real PostgreSQL', { skip: postgresSkipped }, async (t) => {
  const server = await startPostgres(t)
  const pool = new pg.Pool({ connectionString: server.url, max: 4 })
  t.teardown(() => pool.end())
  const PgStore = connectPgSimple(expressSession)
  const store = new PgStore({ pool, createTableIfMissing: true, pruneSessionInterval: false })
  t.teardown(() => store.close())
  await conformance(t, () => connectStore(store as unknown as ConnectStore))
})

test('a connect store that fails answers 503 FST_SESSIONS_STORAGE_UNAVAILABLE, without its message', { skip: redisSkipped }, async (t) => {
  const server = await startRedis(t)
  const client = new Redis(server.port, '127.0.0.1', { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => 50 })
  client.on('error', () => {})
  t.teardown(() => client.disconnect())
  await new Promise((resolve) => client.once('ready', resolve))
  const login = cookieSession('LOGIN', Type.Object({ user: Type.String() }), { storage: connectStore(new RedisStore({ client })) })
  const app = await buildApp(t, [login])
  app.post('/login', async (request) => { request.sessions.set(login, { user: 'ada' }); return 'ok' })
  app.get('/', async (request) => ({ user: request.sessions.get(login)?.user ?? null }))
  const cookie = cookiesOf((await app.inject({ method: 'POST', url: '/login' })).headers['set-cookie'])
  t.same((await app.inject({ url: '/', headers: { cookie } })).json(), { user: 'ada' }, 'through connect-redis and back')
  await server.kill()
  const res = await app.inject({ url: '/', headers: { cookie } })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'FST_SESSIONS_STORAGE_UNAVAILABLE')
  const write = await app.inject({ method: 'POST', url: '/login' })
  t.equal(write.statusCode, 503, 'a write fails the same way')
  t.notOk(write.headers['set-cookie'], 'and sends no cookie')
})

test('connectStore refuses what is not a store', async (t) => {
  t.throws(() => connectStore({} as never), TypeError)
})
