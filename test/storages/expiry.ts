import { test } from 'tap'
import { cacheStorage } from '../../storages/cache.js'
import { checkExpiry, expiryAt, hasExpired, ttlUntil } from '../../storages/expiry.js'
import { memoryStorage } from '../../storages/memory.js'
import { fakeClock } from '../helpers/app.js'

const NOT_EXPIRIES: unknown[] = [Number.NaN, Infinity, -Infinity, '1700000000000', undefined, {}, 10n]

test('an expiry is a finite epoch time or null, and nothing else', async (t) => {
  for (const value of [0, 1_700_000_000_000, 1_700_000_000_000.5, -1, null]) {
    t.doesNotThrow(() => { checkExpiry(value) }, String(value))
  }
  for (const value of NOT_EXPIRIES) {
    t.throws(() => { checkExpiry(value) }, { name: 'TypeError', message: /expiresAt .*finite/ }, String(value))
  }
})

test('an entry is absent from the first millisecond Date.now() reaches its expiry', async (t) => {
  const clock = fakeClock(t)
  t.equal(hasExpired(clock.now + 1), false)
  t.equal(hasExpired(clock.now), true)
  t.equal(hasExpired(null), false, 'null never expires')
  t.same(expiryAt(null), { kind: 'never' })
  t.same(expiryAt(clock.now), { kind: 'passed' })
  t.same(expiryAt(clock.now - 1000), { kind: 'passed' })
  t.same(expiryAt(clock.now + 1), { kind: 'at', at: clock.now + 1 })
  t.same(expiryAt(clock.now + 0.2), { kind: 'at', at: clock.now + 1 }, 'a fraction rounds up to the same line')
})

test('the lru-cache TTL of an expiry draws the same line', async (t) => {
  const now = 1_700_000_000_000
  t.equal(ttlUntil(null, now), 0, "lru-cache's never")
  t.equal(ttlUntil(now, now), -1, 'expired')
  t.equal(ttlUntil(now + 10, now), 9.5)
  t.equal(ttlUntil(now + 9.5, now), 9.5)
  // A clock with a fraction must not yield 0, which lru-cache reads as "no expiry".
  t.equal(ttlUntil(now + 0.2, now + 0.5), -1)
})

test('the memory and cache storages refuse what is not an expiry, as redisStorage does', async (t) => {
  const memory = memoryStorage()
  const cache = cacheStorage(memoryStorage())
  t.teardown(async () => { await memory.close(); await cache.close() })
  for (const storage of [memory, cache]) {
    for (const value of [Number.NaN, Infinity, -Infinity]) {
      await t.rejects(storage.write('k', 'v', value), { name: 'TypeError', message: /finite/ }, `write ${value}`)
      await t.rejects(storage.touch?.('k', value) ?? Promise.reject(new Error('no touch')), { name: 'TypeError', message: /finite/ }, `touch ${value}`)
      await t.rejects(storage.compareAndWrite?.('k', null, 'v', value) ?? Promise.reject(new Error('no compareAndWrite')), { name: 'TypeError', message: /finite/ }, `compareAndWrite ${value}`)
    }
    t.equal(await storage.read('k'), null, 'nothing was written')
  }
})
