import t from 'tap'
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { redisStorage } from '../../storages/redis.js'
import { redisSkip, startSentinel, waitFor } from '../helpers/redis.js'

const skip = redisSkip(t)

t.test('a session written before a Sentinel failover reads back after it', { skip }, async (t) => {
  const setup = await startSentinel(t)
  const client = setup.sentinel.track(new Redis({ sentinels: setup.sentinels, name: setup.name }))
  client.on('error', () => {})
  const passedIn = redisStorage({ client })
  const owned = redisStorage({ options: { sentinels: setup.sentinels, name: setup.name } })
  t.teardown(() => owned.close())

  const key = randomBytes(32).toString('base64url')
  const expiresAt = Date.now() + 120_000
  await passedIn.write(key, 'before the failover', expiresAt)
  t.equal(await owned.read(key), 'before the failover', 'both clients reach the same master')
  t.equal(await setup.masterPort(), setup.master.port)
  // Replication is asynchronous: the failover must not race the copy of the write.
  await waitFor('the replica to hold the session', async () =>
    await setup.replica.call('GET', `sess:${key}`) === 'before the failover' ? true : undefined)

  const failoverStarted = performance.now()
  await setup.failover()
  t.comment(`failover done in ${(performance.now() - failoverStarted).toFixed(0)} ms`)
  t.equal(await setup.masterPort(), setup.replica.port, 'the replica is the master now')

  for (const [name, storage] of [['a client passed in', passedIn], ['a client made from options', owned]] as const) {
    // Calls fail (503) while the client finds the new master; then they succeed on their own.
    const value = await waitFor(`${name} to reach the new master`, async () =>
      await storage.read(key).catch(() => undefined) ?? undefined, 15_000, 50)
    t.equal(value, 'before the failover', `${name} reads the session back`)
    const server = await storage.client.info('server')
    t.match(server, `tcp_port:${setup.replica.port}`, `${name} talks to the new master`)
  }
  t.equal(await client.call('PEXPIRETIME', `sess:${key}`), expiresAt, 'the expiry survived the failover')

  const after = randomBytes(32).toString('base64url')
  await owned.write(after, 'after the failover', expiresAt)
  t.equal(await passedIn.read(after), 'after the failover')
})
