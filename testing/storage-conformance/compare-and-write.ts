// The conformance cases of `compareAndWrite`: compare-and-set, its expiry, racing writers.
import assert from 'node:assert/strict'
import { ConformanceSkip, type StorageConformanceCase } from './case.js'
import { MINUTE, randomKey, withClock, withStorage } from './support.js'

export const compareAndWriteCases: StorageConformanceCase[] = [
  {
    name: 'compareAndWrite writes only over the expected value, and one of racing writers wins',
    requires: 'compareAndWrite',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      if (storage.compareAndWrite === undefined) throw new ConformanceSkip('the storage has no compareAndWrite')
      const cas = storage.compareAndWrite.bind(storage)
      const key = randomKey()
      assert.equal(await cas(key, 'something', 'v1', Date.now() + MINUTE), false, 'an absent key is not "something"')
      assert.equal(await storage.read(key), null)
      assert.equal(await cas(key, null, 'v1', Date.now() + MINUTE), true, 'null expects the key absent')
      assert.equal(await storage.read(key), 'v1')
      assert.equal(await cas(key, null, 'v2', Date.now() + MINUTE), false, 'the key is no longer absent')
      assert.equal(await cas(key, 'v0', 'v2', Date.now() + MINUTE), false, 'a stale expectation loses')
      assert.equal(await storage.read(key), 'v1', 'and changes nothing')
      const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => cas(key, 'v1', `racer ${i}`, Date.now() + MINUTE)))
      assert.equal(outcomes.filter(Boolean).length, 1, 'exactly one of the racing writers wins')
      assert.equal(await storage.read(key), `racer ${outcomes.indexOf(true)}`, 'and its value is stored')
      await storage.write(key, 'expired', Date.now() - 1000)
      assert.equal(await cas(key, null, 'after expiry', Date.now() + MINUTE), true, 'an expired key counts as absent')
      assert.equal(await storage.read(key), 'after expiry')
      await storage.invalidate(key)
    }),
  },
  {
    name: 'compareAndWrite gives the value its expiry, or none with null',
    requires: 'compareAndWrite',
    fakeClock: true,
    run: (make) => withStorage(make, async (storage) => {
      if (storage.compareAndWrite === undefined) throw new ConformanceSkip('the storage has no compareAndWrite')
      const base = Date.now()
      const key = randomKey()
      const forever = randomKey()
      assert.equal(await storage.compareAndWrite(key, null, 'v1', base + MINUTE), true)
      await storage.write(forever, 'old', base + MINUTE)
      assert.equal(await storage.compareAndWrite(forever, 'old', 'kept', null), true)
      await withClock(() => base + MINUTE - 1, async () => {
        assert.equal(await storage.read(key), 'v1', 'one millisecond before the expiry')
      })
      await withClock(() => base + MINUTE, async () => {
        assert.equal(await storage.read(key), null, 'at the expiry')
      })
      await withClock(() => base + 100 * MINUTE, async () => {
        assert.equal(await storage.read(forever), 'kept', 'null: no expiry, whatever the value replaced had')
      })
      await storage.invalidate(key)
      await storage.invalidate(forever)
    }),
  },
  {
    name: 'a compareAndWrite whose expiry has already passed leaves nothing to read',
    requires: 'compareAndWrite',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      if (storage.compareAndWrite === undefined) throw new ConformanceSkip('the storage has no compareAndWrite')
      const key = randomKey()
      await storage.write(key, 'v1', Date.now() + MINUTE)
      assert.equal(await storage.compareAndWrite(key, 'v0', 'v2', Date.now() - 1000), false, 'a stale expectation still loses')
      assert.equal(await storage.read(key), 'v1', 'and removes nothing')
      assert.equal(await storage.compareAndWrite(key, 'v1', 'v2', Date.now() - 1000), true, 'the expected value is replaced')
      assert.equal(await storage.read(key), null, 'by nothing')
      assert.equal(await storage.compareAndWrite(key, null, 'v3', Date.now() + MINUTE), true, 'the key is absent again')
      assert.equal(await storage.read(key), 'v3')
      await storage.invalidate(key)
    }),
  },
]
