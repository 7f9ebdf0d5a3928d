import t from 'tap'
import { Redis } from 'ioredis'
import { redisStorage } from '../lib/index.js'
import { devicesApp, userSessionsOver } from './helpers/devices.js'
import { redisSkip, startSentinel, waitFor } from './helpers/redis.js'

const skip = redisSkip(t)

t.test('a user\'s sessions on a Sentinel-backed Redis, across a failover', { skip }, async (t) => {
  const setup = await startSentinel(t)
  const client = setup.sentinel.track(new Redis({ sentinels: setup.sentinels, name: setup.name }))
  client.on('error', () => {})
  await userSessionsOver(t, () => redisStorage({ client, prefix: 'se:' }))

  await t.test('the index replicates: after a failover, "log out everywhere" still finds every session', async (t) => {
    const { login, signIn, who } = await devicesApp(t, redisStorage({ client, prefix: 'fo:' }))
    const cookies = [await signIn('erin'), await signIn('erin')]
    await waitFor('the replica to hold the index', async () =>
      (await setup.replica.call('KEYS', 'fo:subject:*') as string[]).length === 2 ? true : undefined)
    await setup.failover()
    await waitFor('the client to reach the new master', async () => await login.sessionsOf('erin').catch(() => undefined))
    t.equal((await login.sessionsOf('erin')).length, 2)
    await login.revokeAll('erin')
    for (const cookie of cookies) t.equal(await who(cookie), null)
  })
})
