// The conformance case of `publishEnded` / `subscribeEnded`: ended sessions announced to every
// process (live revocation). Like readEntry it has no `requires`: a storage without pub/sub
// serves one process correctly, and the case passes for it.
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import type { StorageConformanceCase } from './case.js'
import { randomKey, withStorage } from './support.js'

export const endedCases: StorageConformanceCase[] = [
  {
    name: 'publishEnded, where the storage has it, reaches the subscribeEnded listeners',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      if (storage.publishEnded === undefined || storage.subscribeEnded === undefined) return
      const heard: string[][] = []
      await storage.subscribeEnded((keys) => { heard.push(keys) })
      const keys = [randomKey(), randomKey()]
      // Delivery is asynchronous: published until heard, a bounded number of times.
      for (let round = 0; round < 50 && !heard.some((k) => k.includes(keys[0] as string)); round++) {
        await storage.publishEnded(keys)
        await sleep(20)
      }
      assert.ok(heard.some((k) => keys.every((key) => k.includes(key))), 'the listener heard the ended keys')
    }),
  },
]
