import t from 'tap'
import { randomBytes } from 'node:crypto'
import { redisStorage } from '../../storages/redis.js'
import { redisSkip, startCluster } from '../helpers/redis.js'

const skip = redisSkip(t)

t.test('sessions spread over all three masters of a Cluster and read back through it', { skip }, async (t) => {
  const cluster = await startCluster(t)
  const client = cluster.client()
  const storage = redisStorage({ client, prefix: 'cluster:' })
  const expiresAt = Date.now() + 60_000
  const sessions = new Map(Array.from({ length: 90 }, (_, i) =>
    [randomBytes(32).toString('base64url'), `session ${i}`] as const))

  await Promise.all([...sessions].map(([key, value]) => storage.write(key, value, expiresAt)))

  // Which master owns each key, from the slot Redis computes and the slot ranges of each node.
  const ranges = new Map<number, Array<[number, number]>>()
  for (const [from, to, [, port]] of await cluster.nodes[0]!.call('CLUSTER', 'SLOTS') as Array<[number, number, [string, number]]>) {
    ranges.set(port, [...ranges.get(port) ?? [], [from, to]])
  }
  const expected = new Map<number, number>(cluster.nodes.map((node) => [node.port, 0]))
  for (const key of sessions.keys()) {
    const slot = Number(await cluster.nodes[0]!.call('CLUSTER', 'KEYSLOT', `cluster:${key}`))
    const owner = [...ranges].find(([, list]) => list.some(([from, to]) => slot >= from && slot <= to))?.[0]
    t.ok(owner !== undefined, `slot ${slot} has an owner`)
    expected.set(owner!, (expected.get(owner!) ?? 0) + 1)
  }
  for (const node of cluster.nodes) {
    const size = Number(await node.call('DBSIZE'))
    t.ok(size > 0, `master ${node.port} holds ${size} sessions`)
    t.equal(size, expected.get(node.port), `master ${node.port} holds exactly the keys of its slots`)
  }

  const values = await Promise.all([...sessions.keys()].map((key) => storage.read(key)))
  t.same(values, [...sessions.values()], 'every session reads back through the Cluster')
  const [first] = sessions.keys()
  t.equal(await client.call('PEXPIRETIME', `cluster:${first!}`), expiresAt)

  await storage.touch(first!, expiresAt + 30_000)
  t.equal(await client.call('PEXPIRETIME', `cluster:${first!}`), expiresAt + 30_000)
  await storage.invalidate(first!)
  t.equal(await storage.read(first!), null)

  await storage.close()
  t.equal(client.status, 'ready', 'close() leaves the Cluster client open')
  t.equal(await client.exists(`cluster:${[...sessions.keys()][1]!}`), 1)
})
