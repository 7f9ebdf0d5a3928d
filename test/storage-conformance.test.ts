import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
