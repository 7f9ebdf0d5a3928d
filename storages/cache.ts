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
import { hasCapability, type SessionStorage, type StorageWith, type StoredEntry, type WithReadEntry } from './storage.js'

const LABEL = 'cacheStorage()'

export const CacheStorageOptionsSchema = Type.Object({
  /** Seconds an entry may be served from memory. Default 60. */
  ttl: withDefault(Type.Number({ exclusiveMinimum: 0, maximum: 31_536_000 }), 60),
  /** The most entries cached; the least recently used goes first. Default 10 000. */
  maxEntries: withDefault(Type.Integer({ minimum: 1, maximum: 16_777_216 }), 10_000),
}, { additionalProperties: false })

export type CacheStorageOptions = Static<typeof CacheStorageOptionsSchema>

// Declared in storage.ts; still exported here, where they were first.
export type { StoredEntry }
/** A storage that can tell a value's expiry on read, so a cache never keeps it longer. */
export type SessionStorageWithExpiry = WithReadEntry

/** `touch` and `compareAndWrite` are there when the inner storage has them. */
export interface CacheStorage extends StorageWith<'close'> {
  /** The storage behind the cache. */
  readonly inner: SessionStorage
}

interface Flight {
  /** Operations on the key in progress. */
  pending: number
  /** Mutations (write, invalidate, touch) in progress. */
  mutating: number
  /** The sequence number of the latest mutation started. */
  changed: number
}

function isStorage (value: unknown): value is SessionStorage {
  if (value === null || typeof value !== 'object') return false
  const s = value as Record<string, unknown>
  return typeof s.read === 'function' && typeof s.write === 'function' && typeof s.invalidate === 'function'
}

export function cacheStorage (inner: SessionStorage, options?: CacheStorageOptions): CacheStorage {
  if (!isStorage(inner)) throw optionsError(LABEL, 'the first argument must be a storage (read, write, invalidate)')
  const opts = parseOptionsWithDefaults(CacheStorageOptionsSchema, options, LABEL)
  const ttlMs = Math.round(opts.ttl * 1000)
  const cache = new LRUCache<string, StoredEntry>({
    max: opts.maxEntries,
    ttl: Math.max(ttlMs, 1),
    perf: dateClock,
    ttlResolution: 0,
  })
  const readEntry = hasCapability(inner, 'readEntry') ? inner.readEntry.bind(inner) : null
  const flights = new Map<string, Flight>()
  let sequence = 0
  let closed = false

  function begin (key: string, mutation: boolean): Flight {
    let flight = flights.get(key)
    if (flight === undefined) {
      flight = { pending: 0, mutating: 0, changed: 0 }
      flights.set(key, flight)
    }
    flight.pending++
    if (mutation) {
      flight.mutating++
      flight.changed = ++sequence
    }
    return flight
  }

  function end (key: string, flight: Flight, mutation: boolean): void {
    flight.pending--
    if (mutation) flight.mutating--
    if (flight.pending === 0) flights.delete(key)
  }

  function live (entry: StoredEntry | undefined): entry is StoredEntry {
    return entry !== undefined && !hasExpired(entry.expiresAt)
  }

  function remember (key: string, entry: StoredEntry): void {
    if (live(entry)) cache.set(key, entry)
    else cache.delete(key)
  }

  // `cacheable` is false when the expiry is unknown: such a value must not be kept.
  async function readThrough (key: string): Promise<{ entry: StoredEntry | null, cacheable: boolean }> {
    if (readEntry !== null) return { entry: await readEntry(key), cacheable: true }
    const value = await inner.read(key)
    return { entry: value === null ? null : { value, expiresAt: null }, cacheable: false }
  }

  const storage: CacheStorage = {
    inner,
    async read (key) {
      const cached = cache.get(key)
      if (live(cached)) return cached.value
      if (cached !== undefined) cache.delete(key)
      const flight = begin(key, false)
      const startedAt = sequence
      const quiet = flight.mutating === 0
      try {
        const { entry, cacheable } = await readThrough(key)
        // A mutation that overlapped this read may have finished first: its result must stand.
        if (entry !== null && cacheable && quiet && flight.changed <= startedAt && !closed) remember(key, entry)
        return entry === null || !live(entry) ? null : entry.value
      } finally {
        end(key, flight, false)
      }
    },
    async write (key, value, expiresAt) {
      checkExpiry(expiresAt)
      const flight = begin(key, true)
      const mine = flight.changed
      try {
        await inner.write(key, value, expiresAt)
        if (flight.changed === mine && !closed) remember(key, { value, expiresAt })
        else cache.delete(key)
      } catch (err) {
        cache.delete(key)
        throw err
      } finally {
        end(key, flight, true)
      }
    },
    async invalidate (key) {
      const flight = begin(key, true)
      cache.delete(key)
      try {
        await inner.invalidate(key)
      } finally {
        cache.delete(key)
        end(key, flight, true)
      }
    },
    async close () {
      closed = true
      cache.clear()
      await inner.close?.()
    },
  }

  if (hasCapability(inner, 'touch')) {
    const touch = inner.touch.bind(inner)
    storage.touch = async (key, expiresAt) => {
      checkExpiry(expiresAt)
      const flight = begin(key, true)
      const mine = flight.changed
      try {
        await touch(key, expiresAt)
        const cached = cache.peek(key)
        if (cached !== undefined && flight.changed === mine) {
          // Only the record's expiry moves; the cache deadline stays where it was.
          cached.expiresAt = expiresAt
          if (!live(cached)) cache.delete(key)
        } else {
          cache.delete(key)
        }
      } catch (err) {
        cache.delete(key)
        throw err
      } finally {
        end(key, flight, true)
      }
    }
  }

  if (hasCapability(inner, 'compareAndWrite')) {
    const compareAndWrite = inner.compareAndWrite.bind(inner)
    // Decided by the inner storage alone (the cache may be stale); the cache follows the outcome.
    storage.compareAndWrite = async (key, expected, value, expiresAt) => {
      checkExpiry(expiresAt)
      const flight = begin(key, true)
      const mine = flight.changed
      try {
        const wrote = await compareAndWrite(key, expected, value, expiresAt)
        if (wrote && flight.changed === mine && !closed) remember(key, { value, expiresAt })
        else cache.delete(key)
        return wrote
      } catch (err) {
        cache.delete(key)
        throw err
      } finally {
        end(key, flight, true)
      }
    }
  }

  return storage
}
