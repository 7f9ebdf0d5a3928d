import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'tap'
import { storageConformance } from '../testing/index.js'
import { cacheStorage } from '../storages/cache.js'
import { directoryStorage } from '../storages/directory.js'
import { memoryStorage } from '../storages/memory.js'
import type { SessionStorage } from '../storages/storage.js'

// Every built-in storage (Redis runs the same suite in its own test file) against every case.
const storages: Array<{ name: string, make: (dir: string) => SessionStorage }> = [
  { name: 'memoryStorage', make: () => memoryStorage() },
  { name: 'directoryStorage', make: (dir) => directoryStorage(dir) },
  { name: 'directoryStorage cached', make: (dir) => directoryStorage(dir, { cached: true }) },
  { name: 'cacheStorage over memoryStorage', make: () => cacheStorage(memoryStorage(), { ttl: 5 }) },
  { name: 'cacheStorage over directoryStorage', make: (dir) => cacheStorage(directoryStorage(dir), { maxEntries: 10 }) },
]

for (const storage of storages) {
  test(storage.name, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fss-conformance-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    t.equal(storageConformance.length > 10, true, 'the suite has its cases')
    const probe = storage.make(dir)
    for (const c of storageConformance) {
      const skip = c.requires !== undefined && probe[c.requires] === undefined ? `no ${c.requires}` : false
      await t.test(c.name, { skip }, async (t) => {
        await t.resolves(c.run(() => storage.make(dir)))
      })
    }
    await probe.close?.()
    t.same(storageConformance.filter((c) => c.requires !== undefined && probe[c.requires] === undefined).map((c) => c.name), [], 'every built-in storage has every optional method')
  })
}

const realTime = storageConformance.find((c) => c.name === 'an entry expires in real time')

test('the real-time expiry case allows no fixed wall-clock time: a storage whose reads take 900 ms passes', async (t) => {
  const inner = memoryStorage()
  t.teardown(() => inner.close())
  // Slower than the 800 ms the case once allowed between a write and the read after it.
  const slow = { ...inner, read: async (key: string) => { await sleep(900); return await inner.read(key) }, close: async () => {} }
  await t.resolves(realTime?.run(() => slow) ?? Promise.reject(new Error('no real-time case')))
})

test('the real-time expiry case fails a storage that never expires anything', async (t) => {
  const map = new Map<string, string>()
  const immortal: SessionStorage = {
    read: async (key) => map.get(key) ?? null,
    write: async (key, value) => { map.set(key, value) },
    invalidate: async (key) => { map.delete(key) },
  }
  await t.rejects(realTime?.run(() => immortal) ?? Promise.resolve(), { message: 'a read once the clock is past the expiry' })
})
