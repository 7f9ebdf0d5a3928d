import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { cacheStorage, directoryStorage, memoryStorage, redisStorage } from '../lib/index.js'
import { userSessionsOver } from './helpers/devices.js'
import { redisSkip, startRedis } from './helpers/redis.js'

// A user's sessions on every built-in storage, on real servers and real directories (Redis Cluster
// and Sentinel: user-sessions-redis-cluster.test.ts, user-sessions-redis-sentinel.test.ts).

function tempDir (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'fss-user-sessions-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('directoryStorage', async (t) => {
  const dir = tempDir(t)
  await userSessionsOver(t, () => directoryStorage(dir))
})

t.test('directoryStorage cached', async (t) => {
  const dir = tempDir(t)
  await userSessionsOver(t, () => directoryStorage(dir, { cached: true }))
})

t.test('cacheStorage over memoryStorage', async (t) => {
  await userSessionsOver(t, () => cacheStorage(memoryStorage()))
})

t.test('redisStorage (standalone)', { skip: redisSkip(t) }, async (t) => {
  const server = await startRedis(t)
  await userSessionsOver(t, () => redisStorage({ url: server.url, prefix: `us:${Math.random().toString(36).slice(2)}:` }))
})

t.test('redisStorage: a subject\'s index expires with its last session, and expired entries are dropped', { skip: redisSkip(t) }, async (t) => {
  const server = await startRedis(t)
  const storage = redisStorage({ url: server.url, prefix: 'bound:' })
  t.teardown(() => storage.close())
  const subject = 'frank-hash'
  const soon = Date.now() + 300
  for (let i = 0; i < 200; i++) await storage.indexSubject(subject, `short-${i}`, 'm', soon)
  const later = Date.now() + 60_000
  await storage.indexSubject(subject, 'long', 'm', later)
  t.equal(Number(await server.call('ZCARD', `bound:subject:{${subject}}:at`)), 201)
  t.equal(Number(await server.call('PEXPIRETIME', `bound:subject:{${subject}}:at`)), later, 'the index lives as long as its last entry')
  t.equal(Number(await server.call('PEXPIRETIME', `bound:subject:{${subject}}:meta`)), later)
  await new Promise((resolve) => setTimeout(resolve, soon - Date.now() + 50))
  t.same((await storage.subjectEntries(subject)).map((e) => e.key), ['long'])
  t.equal(Number(await server.call('ZCARD', `bound:subject:{${subject}}:at`)), 1, 'the expired entries are gone from Redis, not just hidden')
  t.equal(Number(await server.call('HLEN', `bound:subject:{${subject}}:meta`)), 1)
})
