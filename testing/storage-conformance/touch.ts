// The conformance cases of `touch`: moving an expiry, never reviving or bringing back an older value.
import assert from 'node:assert/strict'
import { ConformanceSkip, type StorageConformanceCase } from './case.js'
import { MINUTE, randomKey, withClock, withStorage } from './support.js'

export const touchCases: StorageConformanceCase[] = [
  {
    name: 'touch moves the expiry and keeps the value',
    requires: 'touch',
    fakeClock: true,
    run: (make) => withStorage(make, async (storage) => {
      if (storage.touch === undefined) throw new ConformanceSkip('the storage has no touch')
      const base = Date.now()
      const key = randomKey()
      await storage.write(key, 'value', base + MINUTE)
      await storage.touch(key, base + 10 * MINUTE)
      await withClock(() => base + 5 * MINUTE, async () => {
        assert.equal(await storage.read(key), 'value', 'alive past the old expiry, value unchanged')
      })
      await withClock(() => base + 10 * MINUTE, async () => {
        assert.equal(await storage.read(key), null, 'gone at the new expiry')
      })
      const forever = randomKey()
      await storage.write(forever, 'kept', base + MINUTE)
      await storage.touch(forever, null)
      await withClock(() => base + 100 * MINUTE, async () => {
        assert.equal(await storage.read(forever), 'kept', 'touch with null removes the expiry')
      })
      await storage.touch(forever, base + 2 * MINUTE)
      await withClock(() => base + 3 * MINUTE, async () => {
        assert.equal(await storage.read(forever), null, 'touch can also shorten the expiry')
      })
      await storage.invalidate(key)
      await storage.invalidate(forever)
    }),
  },
  {
    name: 'touch of an unknown or expired key creates nothing',
    requires: 'touch',
    fakeClock: true,
    run: (make) => withStorage(make, async (storage) => {
      if (storage.touch === undefined) throw new ConformanceSkip('the storage has no touch')
      const base = Date.now()
      const unknown = randomKey()
      await storage.touch(unknown, base + MINUTE)
      assert.equal(await storage.read(unknown), null, 'an unknown key stays unknown')
      const key = randomKey()
      await storage.write(key, 'value', base + MINUTE)
      await withClock(() => base + 2 * MINUTE, async () => {
        await storage.touch?.(key, base + 10 * MINUTE)
        assert.equal(await storage.read(key), null, 'an expired entry is not revived')
      })
      await storage.invalidate(key)
    }),
  },
  {
    name: 'a touch whose expiry has already passed leaves nothing to read',
    requires: 'touch',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      if (storage.touch === undefined) throw new ConformanceSkip('the storage has no touch')
      const key = randomKey()
      await storage.write(key, 'value', Date.now() + MINUTE)
      await storage.touch(key, Date.now() - 1000)
      assert.equal(await storage.read(key), null)
      await storage.write(key, 'again', Date.now() + MINUTE)
      assert.equal(await storage.read(key), 'again', 'the key can be written again')
      await storage.invalidate(key)
    }),
  },
  {
    name: 'a touch that overlaps a write never brings back the older value',
    requires: 'touch',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      if (storage.touch === undefined) throw new ConformanceSkip('the storage has no touch')
      const touch = storage.touch.bind(storage)
      const key = randomKey()
      for (let round = 0; round < 20; round++) {
        await storage.write(key, `old ${round}`, Date.now() + MINUTE)
        await Promise.all([
          touch(key, Date.now() + 2 * MINUTE),
          storage.write(key, `new ${round}`, Date.now() + MINUTE),
          touch(key, Date.now() + 2 * MINUTE),
        ])
        assert.equal(await storage.read(key), `new ${round}`, `round ${round}`)
      }
      await storage.invalidate(key)
    }),
  },
]
