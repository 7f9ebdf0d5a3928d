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
