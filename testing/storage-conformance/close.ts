// The conformance cases of `close`: idempotent.
import assert from 'node:assert/strict'
import { ConformanceSkip, type StorageConformanceCase } from './case.js'
import { MINUTE, randomKey } from './support.js'

export const closeCases: StorageConformanceCase[] = [
  {
    name: 'close can be called twice',
    requires: 'close',
    fakeClock: false,
    run: async (make) => {
      const storage = await make()
      await storage.write(randomKey(), 'value', Date.now() + MINUTE)
      if (storage.close === undefined) throw new ConformanceSkip('the storage has no close')
      await assert.doesNotReject(storage.close())
      await assert.doesNotReject(storage.close())
    },
  },
]
