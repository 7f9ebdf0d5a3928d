// The subject index of memoryStorage: per subject, a map of session keys to their entry. An entry
// is dropped once expired, when its subject is next touched and by the storage's minute purge,
// which also drops the entries whose session left the cache (evicted, invalidated) at least a
// purge ago (an entry is written just before its session, so a young one may be waiting for it).
// So the index holds no more entries than the cache holds sessions, plus a minute's worth.
import type { LRUCache } from 'lru-cache'
import { checkExpiry, hasExpired } from './expiry.js'
import type { SubjectEntry, WithSubjects } from './storage.js'

type Entries = Map<string, { value: string, expiresAt: number | null, added: number }>

export interface MemorySubjects extends Pick<WithSubjects, 'indexSubject' | 'subjectEntries' | 'unindexSubject'> {
  /** Drops every expired entry, and those added before `orphansBefore` whose session is gone (the storage's periodic purge). */
  purge (orphansBefore?: number): void
  clear (): void
  /** Entries held, dead ones not yet dropped included. */
  readonly size: number
}

export function memorySubjects (cache: LRUCache<string, string>): MemorySubjects {
  const subjects = new Map<string, Entries>()

  function prune (subject: string, entries: Entries, now: number, orphansBefore = -Infinity): void {
    for (const [key, entry] of entries) {
      if (hasExpired(entry.expiresAt, now) || (entry.added < orphansBefore && !cache.has(key))) entries.delete(key)
    }
    if (entries.size === 0) subjects.delete(subject)
  }

  return {
    async indexSubject (subject, key, value, expiresAt) {
      checkExpiry(expiresAt)
      if (typeof value !== 'string') throw new TypeError('value must be a string')
      let entries = subjects.get(subject)
      if (entries === undefined) subjects.set(subject, entries = new Map())
      const now = Date.now()
      entries.set(key, { value, expiresAt, added: now })
      prune(subject, entries, now)
    },
    async subjectEntries (subject): Promise<SubjectEntry[]> {
      const entries = subjects.get(subject)
      if (entries === undefined) return []
      prune(subject, entries, Date.now())
      return [...entries].map(([key, { value, expiresAt }]) => ({ key, value, expiresAt }))
    },
    async unindexSubject (subject, keys) {
      const entries = subjects.get(subject)
      if (entries === undefined) return
      for (const key of keys) entries.delete(key)
      if (entries.size === 0) subjects.delete(subject)
    },
    purge (orphansBefore = Date.now() - 60_000) {
      const now = Date.now()
      for (const [subject, entries] of subjects) prune(subject, entries, now, orphansBefore)
    },
    clear () {
      subjects.clear()
    },
    get size () {
      let size = 0
      for (const entries of subjects.values()) size += entries.size
      return size
    },
  }
}
