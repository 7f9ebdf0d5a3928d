/**
 * An in-process storage on lru-cache. What is subtle: lru-cache measures TTLs from a start time on
 * its own clock, and treats an entry as stale only when `now - start > ttl`; we give it Date.now()
 * as the clock (with no debouncing, so a faked Date.now is seen at once) and a TTL of
 * `expiresAt - now - 0.5`, which makes an entry absent exactly when `Date.now() >= expiresAt` and
 * never yields the TTL 0 that lru-cache reads as "no expiry". Expired entries are dropped when they
 * are read, pushed out by the least-recently-used bound like any other entry, and purged by an
 * unref'd timer once a minute, so no request pays for a scan. The slots (next, prev, start, ttl)
 * are preallocated typed arrays of `maxEntries` length, which keeps the per-entry overhead flat.
 */
import { LRUCache } from 'lru-cache'
import Type, { type Static } from 'typebox'
import { parseOptionsWithDefaults, withDefault } from '../lib/options.js'
import { checkExpiry, dateClock, ttlUntil } from './expiry.js'
import { memorySubjects, type MemorySubjects } from './memory-subjects.js'
import type { StorageWith, StoredEntry, SubjectCapability } from './storage.js'

const LABEL = 'memoryStorage()'
const PURGE_INTERVAL_MS = 60_000

export const MemoryStorageOptionsSchema = Type.Object({
  /** The most sessions kept; the least recently used goes first. Default 100 000. */
  maxEntries: withDefault(Type.Integer({ minimum: 1, maximum: 16_777_216 }), 100_000),
}, { additionalProperties: false })

export type MemoryStorageOptions = Static<typeof MemoryStorageOptionsSchema>

export interface MemoryStorage extends StorageWith<'touch' | 'compareAndWrite' | 'readEntry' | 'close' | SubjectCapability> {
  /** How many entries are held now (expired ones not yet dropped included). */
  readonly size: number
  /** How many subject index entries are held now (dead ones not yet dropped included). */
  readonly subjectIndexSize: number
}

function startPurger (cache: LRUCache<string, string>, subjects: MemorySubjects): NodeJS.Timeout {
  const purger = setInterval(() => {
    cache.purgeStale()
    subjects.purge()
  }, PURGE_INTERVAL_MS)
  purger.unref()
  return purger
}

function subjectMethods ({ indexSubject, subjectEntries, unindexSubject }: MemorySubjects): Pick<MemorySubjects, SubjectCapability> {
  return { indexSubject, subjectEntries, unindexSubject }
}

export function memoryStorage (options?: MemoryStorageOptions): MemoryStorage {
  const { maxEntries } = parseOptionsWithDefaults(MemoryStorageOptionsSchema, options, LABEL)
  const cache = new LRUCache<string, string>({
    max: maxEntries,
    perf: dateClock,
    ttlResolution: 0,
  })
  const subjects = memorySubjects(cache)
  let purger: NodeJS.Timeout | null = startPurger(cache, subjects)

  function put (key: string, value: string, expiresAt: number | null): void {
    const now = Date.now()
    const ttl = ttlUntil(expiresAt, now)
    // The start must be the very `now` the TTL was computed from, or the expiry drifts.
    if (ttl < 0) cache.delete(key)
    else cache.set(key, value, { ttl, start: now })
  }

  return {
    async read (key) {
      return cache.get(key) ?? null
    },
    async readEntry (key): Promise<StoredEntry | null> {
      const value = cache.get(key)
      if (value === undefined) return null
      // lru-cache reports the remaining TTL and its own now; the 0.5 is ttlUntil's.
      const { ttl, start } = cache.info(key) ?? {}
      const expiresAt = ttl === undefined || start === undefined ? null : Math.ceil(start + ttl)
      return { value, expiresAt }
    },
    async write (key, value, expiresAt) {
      if (typeof value !== 'string') throw new TypeError('value must be a string')
      put(key, value, expiresAt)
    },
    async invalidate (key) {
      cache.delete(key)
    },
    // Synchronous between the compare and the set, hence atomic within the process.
    async compareAndWrite (key, expected, value, expiresAt) {
      checkExpiry(expiresAt)
      if (typeof value !== 'string') throw new TypeError('value must be a string')
      if ((cache.get(key) ?? null) !== expected) return false
      put(key, value, expiresAt)
      return true
    },
    async touch (key, expiresAt) {
      checkExpiry(expiresAt)
      const value = cache.get(key)
      if (value !== undefined) put(key, value, expiresAt)
    },
    async close () {
      if (purger !== null) clearInterval(purger)
      purger = null
      cache.clear()
      subjects.clear()
    },
    ...subjectMethods(subjects),
    get size () {
      return cache.size
    },
    get subjectIndexSize () {
      return subjects.size
    },
  }
}
