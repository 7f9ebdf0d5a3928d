// `Recent` (lib/recent.ts) against lru-cache, on the remembered-values cache's pattern: a lookup
// that hits (the value the client sends back) and an insert (the value written for the next
// request), keyed by their last 32 characters, for working sets that fit the bound. Keys are
// detached (copied) on insert in every case, as the caches must (see lib/recent.ts `detach`).
//   node scripts/run-built.mjs bench/micro/recent.js
import { randomBytes } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { detach, Recent } from '../../lib/recent.js'
import { compare } from './measure.js'

const value = { raw: 'x'.repeat(160), text: '{"username":"bench","count":1}', stamp: null }
const weigh = (key: string): number => key.length + 160 + 30 + 320
interface Cache { get (k: string): unknown, set (k: string, v: typeof value): unknown }

for (const live of [100, 1000]) {
  // Request i reads the value written `live` requests before (its session's last) and writes the next.
  const ring = Array.from({ length: live * 20 }, () => randomBytes(24).toString('base64url'))
  const recent = new Recent<typeof value>(4 * 1024 * 1024, weigh)
  const lru = new LRUCache<string, typeof value>({ maxSize: 4 * 1024 * 1024, sizeCalculation: (_v, key) => weigh(key) })
  const lruCount = new LRUCache<string, typeof value>({ max: 7000 })
  for (const key of ring.slice(0, live)) { recent.set(key, value); lru.set(key, value); lruCount.set(key, value) }
  const step = (cache: Cache, copy: boolean) => (i: number): unknown => {
    const hit = cache.get(ring[i % ring.length] as string)
    if (hit === undefined) throw new Error('a miss')
    const key = ring[(i + live) % ring.length] as string
    cache.set(copy ? detach(key) : key, value)
    return hit
  }
  compare(`remembered-values cache: one hit and one insert per request, ${live} live values`, [
    { label: 'Recent (two generations of Maps, weighed), as shipped', run: step(recent, false) },
    { label: 'lru-cache, maxSize + sizeCalculation (the same bound)', run: step(lru, true) },
    { label: 'lru-cache, max 7 000 entries (a count, no weighing)', run: step(lruCount, true) },
  ])
}
