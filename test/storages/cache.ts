import { test, type Test } from 'tap'
import { cacheStorage } from '../../storages/cache.js'
import { memoryStorage, type MemoryStorage } from '../../storages/memory.js'
import type { SessionStorage } from '../../storages/storage.js'
import { fakeClock, RecordingStorage } from '../helpers/app.js'

const HOUR = 3_600_000

/**
 * A memory storage behind a counting front, so a test sees which calls reach the inner storage.
 * `gate`, when set, holds every readEntry after it has fetched its value, until it resolves.
 */
function countedMemory (t: Test): Omit<MemoryStorage, 'compareAndWrite' | 'indexSubject' | 'subjectEntries' | 'unindexSubject' | 'subjectIndexSize'> & { counts: Record<string, number>, failWrites: boolean, gate: Promise<void> | null } {
  const inner = memoryStorage()
  t.teardown(() => inner.close())
  const counts: Record<string, number> = { read: 0, write: 0, invalidate: 0, touch: 0, close: 0 }
  const counted = {
    counts,
    failWrites: false,
    gate: null as Promise<void> | null,
    get size () { return inner.size },
    async read (key: string) { counts.read!++; return await inner.read(key) },
    async readEntry (key: string) {
      counts.read!++
      const entry = await inner.readEntry(key)
      if (counted.gate !== null) await counted.gate
      return entry
    },
    async write (key: string, value: string, expiresAt: number | null) {
      counts.write!++
      if (counted.failWrites) throw Object.assign(new Error('disk full'), { code: 'ENOSPC' })
      await inner.write(key, value, expiresAt)
    },
    async invalidate (key: string) { counts.invalidate!++; await inner.invalidate(key) },
    async touch (key: string, expiresAt: number | null) { counts.touch!++; await inner.touch(key, expiresAt) },
    async close () { counts.close!++; await inner.close() },
  }
  return counted
}

test('reads of a written value are served from memory', async (t) => {
  const inner = countedMemory(t)
  const cache = cacheStorage(inner)
  await cache.write('k', 'v', Date.now() + HOUR)
  t.equal(inner.counts.write, 1, 'the write went through')
  t.equal(await inner.read('k'), 'v', 'the inner storage has the value')
  const before = inner.counts.read
  for (let i = 0; i < 3; i++) t.equal(await cache.read('k'), 'v')
  t.equal(inner.counts.read, before, 'no read reached the inner storage')
})

test('a failed inner write rejects and leaves the cache agreeing with the inner storage', async (t) => {
  const inner = countedMemory(t)
  const cache = cacheStorage(inner)
  await cache.write('k', 'old', Date.now() + HOUR)
  inner.failWrites = true
  await t.rejects(cache.write('k', 'new', Date.now() + HOUR), { code: 'ENOSPC' })
  await t.rejects(cache.write('fresh', 'value', Date.now() + HOUR), { code: 'ENOSPC' })
  t.equal(await cache.read('k'), 'old', 'what the inner storage holds, not the failed value')
  t.equal(await cache.read('fresh'), null, 'a key whose first write failed stays unknown')
})

test('misses are not cached', async (t) => {
  const inner = countedMemory(t)
  const cache = cacheStorage(inner)
  t.equal(await cache.read('k'), null)
  await inner.write('k', 'written elsewhere', Date.now() + HOUR)
  t.equal(await cache.read('k'), 'written elsewhere', 'the next read asks the inner storage again')
  t.equal(inner.counts.read, 2)
})

test('invalidate removes the key from the cache and the inner storage', async (t) => {
  const inner = countedMemory(t)
  const cache = cacheStorage(inner)
  await cache.write('k', 'v', Date.now() + HOUR)
  await cache.invalidate('k')
  t.equal(await inner.read('k'), null, 'gone from the inner storage')
  t.equal(await cache.read('k'), null, 'gone from the cache')
  t.equal(inner.counts.invalidate, 1)
})

test('a cached entry never outlives the record\'s own expiry', async (t) => {
  const clock = fakeClock(t)
  const base = clock.now
  const inner = countedMemory(t)
  const cache = cacheStorage(inner, { ttl: 3600 })
  await cache.write('written', 'v', base + 1000)
  await inner.write('read-through', 'v', base + 1000)
  t.equal(await cache.read('read-through'), 'v', 'now cached, with the expiry readEntry gave')
  const reads = inner.counts.read ?? 0
  clock.now = base + 999
  t.equal(await cache.read('written'), 'v')
  t.equal(await cache.read('read-through'), 'v')
  t.equal(inner.counts.read, reads, 'both served from memory')
  clock.now = base + 1000
  t.equal(await cache.read('written'), null)
  t.equal(await cache.read('read-through'), null)
})

test('a cached entry is served for at most ttl seconds, then read again', async (t) => {
  const clock = fakeClock(t)
  const base = clock.now
  const inner = countedMemory(t)
  const cache = cacheStorage(inner, { ttl: 2 })
  await cache.write('k', 'v1', null)
  await inner.write('k', 'v2 (another process)', null)
  clock.now = base + 1500
  t.equal(await cache.read('k'), 'v1', 'within the ttl the cached value is served')
  clock.now = base + 2500
  t.equal(await cache.read('k'), 'v2 (another process)', 'after the ttl the inner value is read')
})

test('a value from an inner storage that cannot tell its expiry is not cached', async (t) => {
  const inner = new RecordingStorage()
  const cache = cacheStorage(inner)
  await inner.write('k', 'v', Date.now() + HOUR)
  t.equal(await cache.read('k'), 'v')
  t.equal(await cache.read('k'), 'v')
  t.equal(inner.count('read'), 2, 'every read went to the inner storage')
  await cache.write('k', 'v2', Date.now() + HOUR)
  t.equal(await cache.read('k'), 'v2')
  t.equal(inner.count('read'), 2, 'a value written through the cache is served from memory')
})

test('touch goes through to the inner storage and moves the cached expiry', async (t) => {
  const clock = fakeClock(t)
  const base = clock.now
  const inner = countedMemory(t)
  const cache = cacheStorage(inner, { ttl: 3600 })
  await cache.write('k', 'v', base + 1000)
  await cache.touch?.('k', base + 5000)
  t.equal(inner.counts.touch, 1)
  t.same(await inner.readEntry('k'), { value: 'v', expiresAt: base + 5000 }, 'the inner storage has the new expiry')
  const reads = inner.counts.read ?? 0
  clock.now = base + 4000
  t.equal(await cache.read('k'), 'v', 'alive past the old expiry')
  t.equal(inner.counts.read, reads, 'and still served from memory')
  clock.now = base + 5000
  t.equal(await cache.read('k'), null)
})

test('the cache has touch only when the inner storage has it', async (t) => {
  const inner = new RecordingStorage()
  delete inner.touch
  t.equal(cacheStorage(inner).touch, undefined)
  t.type(cacheStorage(new RecordingStorage()).touch, 'function')
})

test('close closes the inner storage, once or twice', async (t) => {
  const inner = countedMemory(t)
  const cache = cacheStorage(inner)
  await cache.write('k', 'v', null)
  await cache.close()
  await cache.close()
  t.equal(inner.counts.close, 2, 'each close is passed on (the inner close is idempotent)')
  t.equal(inner.size, 0, 'the inner storage is closed')
})

test('maxEntries bounds the cache, not the inner storage', async (t) => {
  const inner = countedMemory(t)
  const cache = cacheStorage(inner, { maxEntries: 2 })
  await cache.write('a', '1', null)
  await cache.write('b', '2', null)
  await cache.write('c', '3', null)
  const reads = inner.counts.read ?? 0
  t.equal(await cache.read('a'), '1', 'still readable from the inner storage')
  t.equal(inner.counts.read, reads + 1, 'a went out of the cache')
  t.equal(inner.size, 3)
})

test('a read that overlaps a write never leaves the older value cached', async (t) => {
  const inner = countedMemory(t)
  const cache = cacheStorage(inner)
  await inner.write('k', 'old', null)
  let release = (): void => {}
  inner.gate = new Promise((resolve) => { release = resolve })
  const reading = cache.read('k')
  await new Promise((resolve) => setImmediate(resolve))
  inner.gate = null
  await cache.write('k', 'new', null)
  release()
  t.equal(await reading, 'old', 'the overlapping read saw the value of its time')
  t.equal(await cache.read('k'), 'new', 'but the cache holds the newer value')
  t.equal(await inner.read('k'), 'new')
})

test('writes that overlap leave the cache agreeing with the inner storage', async (t) => {
  const inner = countedMemory(t)
  const cache = cacheStorage(inner)
  for (let round = 0; round < 20; round++) {
    await Promise.all(Array.from({ length: 5 }, (_, i) => cache.write('k', `${round}:${i}`, null)))
    t.equal(await cache.read('k'), await inner.read('k'), `round ${round}`)
  }
})

test('bad cacheStorage options are refused with FST_SESSIONS_OPTIONS', async (t) => {
  const inner: SessionStorage = memoryStorage()
  t.teardown(() => inner.close?.())
  t.throws(() => cacheStorage({} as SessionStorage), { code: 'FST_SESSIONS_OPTIONS', message: /must be a storage/ })
  t.throws(() => cacheStorage(inner, { ttl: 0 }), { code: 'FST_SESSIONS_OPTIONS', message: /ttl/ })
  t.throws(() => cacheStorage(inner, { maxEntries: 0 }), { code: 'FST_SESSIONS_OPTIONS', message: /maxEntries/ })
  t.throws(() => cacheStorage(inner, { size: 1 } as never), { code: 'FST_SESSIONS_OPTIONS', message: /unknown option "size"/ })
  const options = { ttl: 5 }
  cacheStorage(inner, options)
  t.same(options, { ttl: 5 }, 'the options object is not changed')
})

test('compareAndWrite is decided by the inner storage, never by a stale cached value', async (t) => {
  const inner = memoryStorage()
  t.teardown(() => inner.close())
  const cache = cacheStorage(inner)
  await cache.write('k', 'v1', null)
  await inner.write('k', 'v2 (another process)', null)
  t.equal(await cache.compareAndWrite?.('k', 'v1', 'v3', null), false, 'the cache still says v1, the inner storage does not')
  t.equal(await cache.read('k'), 'v2 (another process)', 'the losing attempt dropped the stale entry')
  t.equal(await cache.compareAndWrite?.('k', 'v2 (another process)', 'v3', null), true)
  await inner.write('k', 'v4 (another process)', null)
  t.equal(await cache.read('k'), 'v3', 'a won compareAndWrite is cached')
  t.equal(cacheStorage(new RecordingStorage()).compareAndWrite !== undefined, true, 'offered when the inner storage has it')
  const plain = new RecordingStorage()
  ;(plain as { compareAndWrite?: unknown }).compareAndWrite = undefined
  t.equal(cacheStorage(plain).compareAndWrite, undefined, 'and only then')
})
