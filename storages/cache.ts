/**
 * An in-memory cache in front of any storage. What is subtle: the cache must never disagree with
 * the inner storage for longer than one in-flight operation. Writes go through first and change
 * the cache only once the inner write succeeded (a failed write drops the cached entry, since the
 * inner state is then unknown); misses are never cached. Operations on one key can overlap, so
 * every mutation takes a sequence number, and a result is cached only when no other mutation of
 * that key started meanwhile (otherwise the entry is dropped and the next read asks the inner
 * storage, which decides who won). An entry lives at most `ttl` seconds from when it was cached
 * and never past the record's own expiry: that expiry is known from `write` and `touch`, and from
 * `readEntry` when the inner storage offers it (the directory and memory storages do). A value read
 * from an inner storage without `readEntry` has no known expiry, so it is returned but not cached:
 * only what went through this cache's `write` is served from memory.
 */
import { LRUCache } from 'lru-cache'
import Type, { type Static } from 'typebox'
import { optionsError, parseOptionsWithDefaults, withDefault } from '../lib/options.js'
import { checkExpiry, dateClock, hasExpired } from './expiry.js'
import { hasCapability, hasSubjects, type SessionStorage, type StorageWith, type StoredEntry, type WithCompareAndWrite, type WithTouch } from './storage.js'

const LABEL = 'cacheStorage()'

export const CacheStorageOptionsSchema = Type.Object({
  /** Seconds an entry may be served from memory. Default 60. */
  ttl: withDefault(Type.Number({ exclusiveMinimum: 0, maximum: 31_536_000 }), 60),
  /** The most entries cached; the least recently used goes first. Default 10 000. */
  maxEntries: withDefault(Type.Integer({ minimum: 1, maximum: 16_777_216 }), 10_000),
}, { additionalProperties: false })

export type CacheStorageOptions = Static<typeof CacheStorageOptionsSchema>

/** `touch`, `compareAndWrite` and the subject index are there when the inner storage has them. */
export interface CacheStorage extends StorageWith<'close'> {
  /** The storage behind the cache. */
  readonly inner: SessionStorage
}

interface Flight {
  /** Operations on the key in progress. */
  pending: number
  /** Mutations (write, invalidate, touch, compareAndWrite) in progress. */
  mutating: number
  /** The sequence number of the latest mutation started. */
  changed: number
}

function isStorage (value: unknown): value is SessionStorage {
  if (value === null || typeof value !== 'object') return false
  const s = value as Record<string, unknown>
  return typeof s.read === 'function' && typeof s.write === 'function' && typeof s.invalidate === 'function'
}

function live (entry: StoredEntry | undefined): entry is StoredEntry {
  return entry !== undefined && !hasExpired(entry.expiresAt)
}

/** The cached entries and the operations in flight on each key. */
class Entries {
  readonly #cache: LRUCache<string, StoredEntry>
  readonly #flights = new Map<string, Flight>()
  #sequence = 0
  closed = false

  constructor (ttlMs: number, maxEntries: number) {
    this.#cache = new LRUCache<string, StoredEntry>({ max: maxEntries, ttl: Math.max(ttlMs, 1), perf: dateClock, ttlResolution: 0 })
  }

  /** The live cached entry of `key`; an expired one is dropped. */
  get (key: string): StoredEntry | undefined {
    const cached = this.#cache.get(key)
    if (live(cached)) return cached
    if (cached !== undefined) this.#cache.delete(key)
    return undefined
  }

  /** The cached entry of `key` as it is, its cache deadline unchanged. */
  peek (key: string): StoredEntry | undefined {
    return this.#cache.peek(key)
  }

  remember (key: string, entry: StoredEntry): void {
    if (live(entry) && !this.closed) this.#cache.set(key, entry)
    else this.#cache.delete(key)
  }

  forget (key: string): void {
    this.#cache.delete(key)
  }

  clear (): void {
    this.#cache.clear()
  }

  // `cacheable` is false when the expiry is unknown: such a value must not be kept.
  async readThrough (key: string, read: () => Promise<{ entry: StoredEntry | null, cacheable: boolean }>): Promise<string | null> {
    const flight = this.#begin(key, false)
    const startedAt = this.#sequence
    const quiet = flight.mutating === 0
    try {
      const { entry, cacheable } = await read()
      // A mutation that overlapped this read may have finished first: its result must stand.
      if (entry !== null && cacheable && quiet && flight.changed <= startedAt) this.remember(key, entry)
      return entry === null || !live(entry) ? null : entry.value
    } finally {
      this.#end(key, flight, false)
    }
  }

  /**
   * Runs a mutation of `key` on the inner storage; `settle` updates the cache from its result,
   * told whether another mutation of the key started meanwhile. A failure drops the cached entry.
   */
  async mutate<R> (key: string, run: () => Promise<R>, settle: (result: R, alone: boolean) => void): Promise<R> {
    const flight = this.#begin(key, true)
    const mine = flight.changed
    try {
      const result = await run()
      settle(result, flight.changed === mine)
      return result
    } catch (err) {
      this.#cache.delete(key)
      throw err
    } finally {
      this.#end(key, flight, true)
    }
  }

  #begin (key: string, mutation: boolean): Flight {
    let flight = this.#flights.get(key)
    if (flight === undefined) {
      flight = { pending: 0, mutating: 0, changed: 0 }
      this.#flights.set(key, flight)
    }
    flight.pending++
    if (mutation) {
      flight.mutating++
      flight.changed = ++this.#sequence
    }
    return flight
  }

  #end (key: string, flight: Flight, mutation: boolean): void {
    flight.pending--
    if (mutation) flight.mutating--
    if (flight.pending === 0) this.#flights.delete(key)
  }
}

export function cacheStorage (inner: SessionStorage, options?: CacheStorageOptions): CacheStorage {
  if (!isStorage(inner)) throw optionsError(LABEL, 'the first argument must be a storage (read, write, invalidate)')
  const opts = parseOptionsWithDefaults(CacheStorageOptionsSchema, options, LABEL)
  const entries = new Entries(Math.round(opts.ttl * 1000), opts.maxEntries)
  const readEntry = hasCapability(inner, 'readEntry') ? inner.readEntry.bind(inner) : null

  async function readInner (key: string): Promise<{ entry: StoredEntry | null, cacheable: boolean }> {
    if (readEntry !== null) return { entry: await readEntry(key), cacheable: true }
    const value = await inner.read(key)
    return { entry: value === null ? null : { value, expiresAt: null }, cacheable: false }
  }

  const storage: CacheStorage = {
    inner,
    async read (key) {
      return entries.get(key)?.value ?? await entries.readThrough(key, () => readInner(key))
    },
    async write (key, value, expiresAt) {
      checkExpiry(expiresAt)
      await entries.mutate(key, () => inner.write(key, value, expiresAt), (_, alone) => {
        if (alone) entries.remember(key, { value, expiresAt })
        else entries.forget(key)
      })
    },
    async invalidate (key) {
      entries.forget(key)
      // Forgotten again once done (mutate forgets on failure): an overlapping read may have cached it.
      await entries.mutate(key, () => inner.invalidate(key), () => { entries.forget(key) })
    },
    async close () {
      entries.closed = true
      entries.clear()
      await inner.close?.()
    },
  }
  if (hasCapability(inner, 'touch')) storage.touch = cachedTouch(entries, inner.touch.bind(inner))
  if (hasSubjects(inner)) {
    // The index is not cached: it is read for listings and revocations, which must see the inner storage.
    storage.indexSubject = inner.indexSubject.bind(inner)
    storage.subjectEntries = inner.subjectEntries.bind(inner)
    storage.unindexSubject = inner.unindexSubject.bind(inner)
  }
  if (hasCapability(inner, 'compareAndWrite')) storage.compareAndWrite = cachedCompareAndWrite(entries, inner.compareAndWrite.bind(inner))
  return storage
}

function cachedTouch (entries: Entries, touch: WithTouch['touch']): WithTouch['touch'] {
  return async (key, expiresAt) => {
    checkExpiry(expiresAt)
    await entries.mutate(key, () => touch(key, expiresAt), (_, alone) => {
      const cached = entries.peek(key)
      if (cached === undefined || !alone) {
        entries.forget(key)
        return
      }
      // Only the record's expiry moves; the cache deadline stays where it was.
      cached.expiresAt = expiresAt
      if (!live(cached)) entries.forget(key)
    })
  }
}

// Decided by the inner storage alone (the cache may be stale); the cache follows the outcome.
function cachedCompareAndWrite (entries: Entries, compareAndWrite: WithCompareAndWrite['compareAndWrite']): WithCompareAndWrite['compareAndWrite'] {
  return async (key, expected, value, expiresAt) => {
    checkExpiry(expiresAt)
    return await entries.mutate(key, () => compareAndWrite(key, expected, value, expiresAt), (wrote, alone) => {
      if (wrote && alone) entries.remember(key, { value, expiresAt })
      else entries.forget(key)
    })
  }
}
