import { randomBytes } from 'node:crypto'
import { test } from 'tap'
import { memoryStorage } from '../storages/memory.js'
import { fakeClock } from './helpers/app.js'
import { heapBytes } from './helpers/heap.js'

const HOUR = 3_600_000

test('the memory storage never holds more than maxEntries', async (t) => {
  const storage = memoryStorage({ maxEntries: 100 })
  t.teardown(() => storage.close())
  for (let i = 0; i < 1000; i++) {
    await storage.write(`key ${i}`, `value ${i}`, Date.now() + HOUR)
    if (storage.size > 100) t.fail(`size ${storage.size} after ${i + 1} writes`)
  }
  t.equal(storage.size, 100)
  t.equal(await storage.read('key 899'), null, 'older entries went out')
  t.equal(await storage.read('key 900'), 'value 900', 'the newest 100 are kept')
  t.equal(await storage.read('key 999'), 'value 999')
})

test('the least recently used entry goes out first, and a read counts as a use', async (t) => {
  const storage = memoryStorage({ maxEntries: 3 })
  t.teardown(() => storage.close())
  await storage.write('a', '1', null)
  await storage.write('b', '2', null)
  await storage.write('c', '3', null)
  t.equal(await storage.read('a'), '1')
  await storage.write('d', '4', null)
  t.equal(await storage.read('b'), null, 'b was the least recently used')
  t.equal(await storage.read('a'), '1', 'a was read, so it stayed')
  t.equal(await storage.read('c'), '3')
  t.equal(await storage.read('d'), '4')
})

test('an expired entry is dropped when it is read, freeing its slot', async (t) => {
  const storage = memoryStorage({ maxEntries: 10 })
  t.teardown(() => storage.close())
  const clock = fakeClock(t)
  const base = clock.now
  await storage.write('short', 'value', base + 1000)
  await storage.write('long', 'value', base + HOUR)
  t.equal(storage.size, 2)
  clock.now = base + 1000
  t.equal(await storage.read('short'), null)
  t.equal(storage.size, 1, 'the expired entry no longer counts')
  t.equal(await storage.read('long'), 'value')
})

test('touch refreshes an entry\'s expiry without making a new one', async (t) => {
  const storage = memoryStorage({ maxEntries: 10 })
  t.teardown(() => storage.close())
  const clock = fakeClock(t)
  const base = clock.now
  await storage.write('k', 'v', base + 1000)
  await storage.touch('k', base + 5000)
  await storage.touch('unknown', base + 5000)
  t.equal(storage.size, 1, 'touching an unknown key adds nothing')
  clock.now = base + 4999
  t.equal(await storage.read('k'), 'v')
  t.same(await storage.readEntry('k'), { value: 'v', expiresAt: base + 5000 }, 'readEntry reports the expiry to the millisecond')
  clock.now = base + 5000
  t.equal(await storage.readEntry('k'), null)
})

test('bad writes reject with a TypeError and store nothing', async (t) => {
  const storage = memoryStorage()
  t.teardown(() => storage.close())
  await t.rejects(storage.write('k', 42 as unknown as string, null), TypeError)
  await t.rejects(storage.write('k', 'v', Number.NaN), { name: 'TypeError', message: /expiresAt/ })
  t.equal(await storage.read('k'), null)
})

test('close empties the storage and can be called again', async (t) => {
  const storage = memoryStorage()
  await storage.write('k', 'v', null)
  await storage.close()
  await storage.close()
  t.equal(storage.size, 0)
  t.equal(await storage.read('k'), null)
})

test('bad memoryStorage options are refused with FST_SESSIONS_OPTIONS', async (t) => {
  for (const [options, message] of [
    [{ maxEntries: 0 }, /maxEntries/],
    [{ maxEntries: 1.5 }, /maxEntries/],
    [{ maxEntries: '10' }, /maxEntries/],
    [{ maxEntry: 10 }, /unknown option "maxEntry"/],
  ] as const) {
    t.throws(() => memoryStorage(options as never), { code: 'FST_SESSIONS_OPTIONS', message }, JSON.stringify(options))
  }
  const options = { maxEntries: 5 }
  const storage = memoryStorage(options)
  t.same(options, { maxEntries: 5 }, 'the options object is not changed')
  await storage.close()
})

test('100 000 sessions cost at most 300 bytes of heap each beyond their payload', async (t) => {
  const count = 100_000
  const payloads = Array.from({ length: count }, (_, i) => `{"username":"user${i}","count":${i}}`.padEnd(120))
  const before = heapBytes()
  const storage = memoryStorage()
  const expiresAt = Date.now() + HOUR
  // Keys are made here and held only by the storage, so they count as overhead.
  for (let i = 0; i < count; i++) await storage.write(randomBytes(32).toString('base64url'), payloads[i] as string, expiresAt + i)
  const perEntry = (heapBytes() - before) / count
  t.equal(storage.size, count)
  t.ok(perEntry <= 300, `${perEntry.toFixed(1)} bytes per session`)
  await storage.close()
})
