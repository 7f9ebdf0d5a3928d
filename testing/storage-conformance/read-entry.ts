// The conformance cases of `readEntry`: the value with its expiry, where a storage has it.
import assert from 'node:assert/strict'
import type { StorageConformanceCase } from './case.js'
import { MINUTE, randomKey, withStorage } from './support.js'

export const readEntryCases: StorageConformanceCase[] = [
  {
    // No `requires`: readEntry is what a cache in front uses to learn an expiry, and a storage
    // without it is served correctly (uncached), so the case checks it only where it exists.
    name: 'readEntry, where the storage has it, answers as read does, with the expiry the value was given',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      if (storage.readEntry === undefined) return
      const readEntry = storage.readEntry.bind(storage)
      const key = randomKey()
      const forever = randomKey()
      const expiresAt = Date.now() + MINUTE
      assert.equal(await readEntry(key), null, 'an unknown key')
      await storage.write(key, 'value', expiresAt)
      await storage.write(forever, 'forever', null)
      assert.deepEqual(await readEntry(key), { value: 'value', expiresAt })
      assert.deepEqual(await readEntry(forever), { value: 'forever', expiresAt: null })
      if (storage.touch !== undefined) {
        await storage.touch(key, expiresAt + MINUTE)
        assert.deepEqual(await readEntry(key), { value: 'value', expiresAt: expiresAt + MINUTE }, 'touch moves the expiry it reports')
      }
      await storage.write(key, 'stale', Date.now() - 1000)
      assert.equal(await readEntry(key), null, 'a write whose expiry has passed')
      await storage.invalidate(forever)
      assert.equal(await readEntry(forever), null, 'an invalidated key')
    }),
  },
]
