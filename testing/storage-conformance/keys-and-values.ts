// The conformance cases of hostile keys, concurrent writers on one key, and a 1 MB value.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type { StorageConformanceCase } from './case.js'
import { hostileKeys, isWhole, MINUTE, randomKey, selfChecking, withStorage } from './support.js'

export const keyAndValueCases: StorageConformanceCase[] = [
  {
    name: 'keys with hostile characters are distinct keys, each with its own value',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      const token = randomBytes(6).toString('hex')
      const keys = hostileKeys(token)
      await Promise.all(keys.map((key) => storage.invalidate(key)))
      for (const [i, key] of keys.entries()) await storage.write(key, `value ${i}`, Date.now() + MINUTE)
      for (const [i, key] of keys.entries()) {
        assert.equal(await storage.read(key), `value ${i}`, `key #${i} ${JSON.stringify(key.slice(0, 40))}`)
      }
      for (const key of keys) await storage.invalidate(key)
      for (const [i, key] of keys.entries()) assert.equal(await storage.read(key), null, `key #${i} invalidated`)
    }),
  },
  {
    name: 'concurrent writers on one key leave one whole value, never a mix',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      const key = randomKey()
      const values = Array.from({ length: 16 }, (_, i) => selfChecking(20_000 + i * 7919, `writer ${i}`))
      const reads: Array<string | null> = []
      await Promise.all([
        ...values.map((value) => storage.write(key, value, Date.now() + MINUTE)),
        ...values.map(async () => { reads.push(await storage.read(key)) }),
      ])
      const final = await storage.read(key)
      assert.ok(final !== null && values.includes(final), 'the value left is one that was written')
      for (const read of reads) assert.ok(read === null || values.includes(read), 'an overlapping read sees a whole value')
      const last = selfChecking(1000, 'last')
      await storage.write(key, last, Date.now() + MINUTE)
      assert.equal(await storage.read(key), last, 'the last completed write wins')
      assert.ok(isWhole(last))
      await storage.invalidate(key)
    }),
  },
  {
    name: 'a 1 MB value is kept whole',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      const key = randomKey()
      const value = selfChecking(1024 * 1024, 'é😀')
      await storage.write(key, value, Date.now() + MINUTE)
      const read = await storage.read(key)
      assert.ok(read !== null, 'the value is there')
      assert.equal(read.length, value.length)
      assert.ok(read === value && isWhole(read), 'the value is byte for byte the one written')
      await storage.invalidate(key)
    }),
  },
]
