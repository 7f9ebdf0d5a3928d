// The conformance cases of expiry: by Date.now() (a faked clock), already past at the write, and in real time.
import assert from 'node:assert/strict'
import type { StorageConformanceCase } from './case.js'
import { MINUTE, randomKey, untilPast, withClock, withStorage } from './support.js'

export const expiryCases: StorageConformanceCase[] = [
  {
    name: 'an entry is absent once Date.now() reaches its expiry',
    fakeClock: true,
    run: (make) => withStorage(make, async (storage) => {
      const base = Date.now()
      const key = randomKey()
      const forever = randomKey()
      await storage.write(key, 'value', base + MINUTE)
      await storage.write(forever, 'forever', null)
      await withClock(() => base + MINUTE - 1, async () => {
        assert.equal(await storage.read(key), 'value', 'one millisecond before the expiry')
      })
      await withClock(() => base + MINUTE, async () => {
        assert.equal(await storage.read(key), null, 'at the expiry')
      })
      await withClock(() => base + 10 * 365 * 24 * 60 * MINUTE, async () => {
        assert.equal(await storage.read(forever), 'forever', 'no expiry: still there ten years on')
      })
      assert.equal(await storage.read(key), null, 'an expired entry does not come back when the clock does')
      await storage.write(key, 'renewed', base + MINUTE)
      assert.equal(await storage.read(key), 'renewed', 'an expired key can be written again')
      await storage.invalidate(key)
      await storage.invalidate(forever)
    }),
  },
  {
    name: 'a write whose expiry has already passed leaves nothing to read',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      const key = randomKey()
      await storage.write(key, 'value', Date.now() + MINUTE)
      await storage.write(key, 'stale', Date.now() - 1000)
      assert.equal(await storage.read(key), null)
      await storage.invalidate(key)
    }),
  },
  {
    // For a storage that judges expiry by its own clock (Redis), which a faked Date.now cannot
    // move. No allowance of wall-clock time: a read that ended before the expiry must find the
    // value (if a loaded machine made every read end later, the entry lives longer next round),
    // and a read once the clock is past the expiry must not.
    name: 'an entry expires in real time',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      const key = randomKey()
      let expiresAt = 0
      for (let life = 100; ; life *= 2) {
        assert.ok(life <= MINUTE, 'no read ended within a minute of its write')
        expiresAt = Date.now() + life
        await storage.write(key, 'short-lived', expiresAt)
        const read = await storage.read(key)
        if (Date.now() < expiresAt) {
          assert.equal(read, 'short-lived', 'a read that ended before the expiry')
          break
        }
      }
      await untilPast(expiresAt)
      assert.equal(await storage.read(key), null, 'a read once the clock is past the expiry')
      await storage.invalidate(key)
    }),
  },
]
