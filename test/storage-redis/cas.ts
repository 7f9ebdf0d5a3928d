// redisStorage's compareAndWrite beyond the conformance suite: one script call per compare, the
// EVAL fallback after the server forgot the script, expiry, Clusters and the call timeout.
import t from 'tap'
import { redisStorage } from '../../storages/redis.js'
import { settleWithin } from '../helpers/deadline.js'
import { redisSkip, startCluster, startRedis } from '../helpers/redis.js'

const skip = redisSkip(t)
const MINUTE = 60_000

function commandCalls (info: string, command: string): number {
  const match = new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info)
  return match === null ? 0 : Number(match[1])
}

t.test('a compare-and-write is one EVALSHA once the script is known, and EVAL after SCRIPT FLUSH', { skip }, async (t) => {
  const server = await startRedis(t)
  const storage = redisStorage({ client: server.client(), prefix: 'cas:' })
  t.equal(await storage.compareAndWrite('k', null, 'v1', Date.now() + MINUTE), true, 'the first call writes (EVAL fallback included)')
  await server.call('CONFIG', 'RESETSTAT')
  t.equal(await storage.compareAndWrite('k', 'v1', 'v2', Date.now() + MINUTE), true)
  const stats = String(await server.call('INFO', 'commandstats'))
  t.equal(commandCalls(stats, 'evalsha'), 1, 'one EVALSHA')
  t.equal(commandCalls(stats, 'eval'), 0, 'no EVAL')
  await server.call('SCRIPT', 'FLUSH')
  t.equal(await storage.compareAndWrite('k', 'v2', 'v3', Date.now() + MINUTE), true, 'NOSCRIPT falls back to EVAL')
  t.equal(await server.call('GET', 'cas:k'), 'v3')
  t.equal(await storage.compareAndWrite('k', 'v2', 'v4', Date.now() + MINUTE), false, 'a stale expectation loses')
  t.equal(await server.call('GET', 'cas:k'), 'v3', 'and changes nothing')
})

t.test('a compare-and-write sets the expiry with PXAT, keeps none for null, and deletes when it has passed', { skip }, async (t) => {
  const server = await startRedis(t)
  const storage = redisStorage({ client: server.client(), prefix: 'cas:' })
  const at = Date.now() + MINUTE
  t.equal(await storage.compareAndWrite('k', null, 'v1', at), true)
  t.equal(await server.call('PEXPIRETIME', 'cas:k'), Math.ceil(at), 'the key expires with the session')
  t.equal(await storage.compareAndWrite('k', 'v1', 'v2', null), true)
  t.equal(await server.call('PTTL', 'cas:k'), -1, 'no expiry')
  t.equal(await storage.compareAndWrite('k', 'v1', 'gone', Date.now() - 1), false, 'a mismatch deletes nothing')
  t.equal(await server.call('GET', 'cas:k'), 'v2')
  t.equal(await storage.compareAndWrite('k', 'v2', 'gone', Date.now() - 1), true)
  t.equal(await server.call('EXISTS', 'cas:k'), 0, 'a past expiry deletes the key')
  t.equal(await storage.compareAndWrite('k', '', 'v', at), false, 'an empty expected value is not absence')
  t.equal(await storage.compareAndWrite('k', null, '', at), true, 'and an empty value can be written and expected')
  t.equal(await storage.compareAndWrite('k', '', 'v', at), true)
})

t.test('on a Cluster, compare-and-writes of keys on every master are routed by their key', { skip }, async (t) => {
  const cluster = await startCluster(t)
  const storage = redisStorage({ client: cluster.client(), prefix: 'cas:' })
  const keys = Array.from({ length: 60 }, (_, i) => `key ${i}`)
  t.same(await Promise.all(keys.map((key) => storage.compareAndWrite(key, null, `${key} v1`, Date.now() + MINUTE))), keys.map(() => true))
  const outcomes = await Promise.all(keys.flatMap((key) => [0, 1, 2].map((racer) =>
    storage.compareAndWrite(key, `${key} v1`, `${key} racer ${racer}`, Date.now() + MINUTE))))
  t.equal(outcomes.filter(Boolean).length, keys.length, 'exactly one racer per key wins')
  const sizes = await Promise.all(cluster.nodes.map(async (node) => Number(await node.call('DBSIZE'))))
  t.ok(sizes.every((size) => size > 0), `keys live on every master (${sizes.join(', ')})`)
  for (const key of keys) t.match(await storage.read(key), new RegExp(`^${key} racer \\d$`))
})

t.test('a compare-and-write to a hung server fails with a 503 error within the timeout', { skip }, async (t) => {
  const server = await startRedis(t)
  const storage = redisStorage({ url: server.url, prefix: 'cas:', timeout: 300 })
  t.teardown(() => storage.close())
  t.equal(await storage.compareAndWrite('k', null, 'v1', Date.now() + MINUTE), true)
  server.pause()
  const started = performance.now()
  const { result, inTime } = await settleWithin(storage.compareAndWrite('k', 'v1', 'v2', Date.now() + MINUTE), 1000)
  const elapsed = performance.now() - started
  t.match(result, { status: 'rejected', reason: { code: 'FST_SESSIONS_STORAGE_UNAVAILABLE', statusCode: 503 } })
  t.ok(elapsed >= 295 && inTime, `rejected after ${elapsed.toFixed(0)} ms, before a timer of 1000 ms`)
  server.resume()
})
