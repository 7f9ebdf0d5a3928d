import t from 'tap'
import { redisStorage } from '../lib/index.js'
import { devicesApp, userSessionsOver } from './helpers/devices.js'
import { redisSkip, startCluster } from './helpers/redis.js'

const skip = redisSkip(t)

// One subject's sessions hash to every master of a Cluster, while its index (two keys named with
// the subject between braces) lives in one slot: listing and revoking work across slots.
t.test('a user\'s sessions on a 3-master Redis Cluster', { skip }, async (t) => {
  const cluster = await startCluster(t)
  const client = cluster.client()
  await userSessionsOver(t, () => redisStorage({ client, prefix: 'cl:' }))

  await t.test('the sessions of one subject are spread over the masters, and all of them are revoked', async (t) => {
    const { login, signIn, who } = await devicesApp(t, redisStorage({ client, prefix: 'spread:' }))
    const cookies: string[] = []
    for (let i = 0; i < 30; i++) cookies.push(await signIn('dora'))
    const holding = await Promise.all(cluster.nodes.map(async (node) => (await node.call('KEYS', 'spread:*') as string[]).filter((k) => !k.includes('subject:')).length))
    t.equal(holding.reduce((a, b) => a + b, 0), 30, 'every session is stored')
    t.ok(holding.every((n) => n > 0), `every master holds some of them (${holding.join(', ')})`)
    const indexKeys = (await Promise.all(cluster.nodes.map(async (node) => await node.call('KEYS', 'spread:subject:*') as string[]))).map((keys) => keys.length)
    t.equal(indexKeys.filter((n) => n > 0).length, 1, 'the index sits on one master')
    t.equal((await login.sessionsOf('dora')).length, 30)
    await login.revokeAll('dora')
    for (const cookie of cookies) t.equal(await who(cookie), null)
    const left = await Promise.all(cluster.nodes.map(async (node) => (await node.call('KEYS', 'spread:*') as string[]).length))
    t.same(left, [0, 0, 0], 'no session and no index is left on any master')
  })
})
