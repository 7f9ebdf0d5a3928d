import t from 'tap'
import { randomBytes } from 'node:crypto'
import { storageConformance } from '../../testing/index.js'
import { redisStorage } from '../../storages/redis.js'
import { redisSkip, startRedis } from '../helpers/redis.js'

const skip = redisSkip(t)

// Redis expires keys by its own clock, which a faked Date.now cannot move; the cases that fake it
// are covered for Redis by the real-time expiry case and by the PXAT checks of storage-redis.test.ts.
const FAKE_CLOCK = 'Redis judges expiry by its own clock; a faked Date.now cannot move it'

t.test('redisStorage passes the storage conformance suite', { skip }, async (t) => {
  const server = await startRedis(t)
  const shared = server.client()
  t.ok(storageConformance.length > 10, 'the suite has its cases')

  const variants = [
    { name: 'with a client it makes from a url', make: () => redisStorage({ url: server.url }) },
    {
      name: 'with a client passed in, each storage under its own prefix',
      make: () => redisStorage({ client: shared, prefix: `conformance:${randomBytes(4).toString('hex')}:` }),
    },
  ]
  for (const variant of variants) {
    await t.test(variant.name, async (t) => {
      for (const c of storageConformance) {
        await t.test(c.name, { skip: c.fakeClock ? FAKE_CLOCK : false }, async (t) => {
          await t.resolves(c.run(variant.make))
        })
      }
    })
  }
  t.equal(shared.status, 'ready', 'closing the storages left the shared client open')
})
