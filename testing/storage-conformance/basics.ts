// The conformance cases of reading, writing, overwriting and invalidating.
import assert from 'node:assert/strict'
import type { StorageConformanceCase } from './case.js'
import { MINUTE, randomKey, withStorage } from './support.js'

export const basicCases: StorageConformanceCase[] = [
  {
    name: 'a value reads back exactly as written',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      const key = randomKey()
      const value = '{"username":"John","count":1}'
      await storage.write(key, value, Date.now() + MINUTE)
      assert.equal(await storage.read(key), value)
      const forever = randomKey()
      await storage.write(forever, 'no expiry', null)
      assert.equal(await storage.read(forever), 'no expiry')
      await storage.invalidate(key)
      await storage.invalidate(forever)
    }),
  },
  {
    name: 'values of any well-formed text come back unchanged',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      const values = ['', ' ', '\n', '\r\n', '\0', 'FSS1 0000000000000000 0000000000\n', '{"a":"b"}\n',
        'é😀\u0301\uFFFF', 'a/b/../c', '%00%2f', '-'.repeat(100), '\u2028\u2029']
      const keys = values.map(() => randomKey())
      await Promise.all(values.map((value, i) => storage.write(keys[i] as string, value, Date.now() + MINUTE)))
      for (const [i, value] of values.entries()) {
        assert.equal(await storage.read(keys[i] as string), value, `value #${i}`)
      }
      await Promise.all(keys.map((key) => storage.invalidate(key)))
    }),
  },
  {
    name: 'an overwrite replaces the value and the expiry',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      const key = randomKey()
      await storage.write(key, 'first', Date.now() + MINUTE)
      await storage.write(key, 'second', Date.now() + 2 * MINUTE)
      assert.equal(await storage.read(key), 'second')
      await storage.write(key, 'longer third value', null)
      assert.equal(await storage.read(key), 'longer third value')
      await storage.write(key, '4', Date.now() + MINUTE)
      assert.equal(await storage.read(key), '4')
      await storage.invalidate(key)
    }),
  },
  {
    name: 'invalidate forgets a key, and invalidating an unknown key resolves',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      const key = randomKey()
      const other = randomKey()
      await storage.write(key, 'value', Date.now() + MINUTE)
      await storage.write(other, 'other', Date.now() + MINUTE)
      await storage.invalidate(key)
      assert.equal(await storage.read(key), null)
      assert.equal(await storage.read(other), 'other', 'only the invalidated key is gone')
      await storage.invalidate(key)
      await storage.invalidate(randomKey())
      assert.equal(await storage.read(key), null)
      await storage.write(key, 'again', Date.now() + MINUTE)
      assert.equal(await storage.read(key), 'again', 'an invalidated key can be written again')
      await storage.invalidate(key)
      await storage.invalidate(other)
    }),
  },
  {
    name: 'an unknown key reads as null and reading it does not create it',
    fakeClock: false,
    run: (make) => withStorage(make, async (storage) => {
      const key = randomKey()
      assert.equal(await storage.read(key), null)
      assert.equal(await storage.read(key), null, 'a second read still finds nothing')
      const near = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A')
      await storage.write(near, 'neighbour', Date.now() + MINUTE)
      assert.equal(await storage.read(key), null, 'a key differing in one character is another key')
      await storage.invalidate(near)
    }),
  },
]
