// A subject index kept as one record of the storage itself, under a reserved key, changed by
// compare-and-write rounds: what the directory storage uses (its files and locks then do the
// rest: the record outlives no entry, it expires with the last of them, and the sweeper removes
// it). Each change prunes the expired entries, so the record holds the live sessions only.
import { checkExpiry, hasExpired } from './expiry.js'
import type { SubjectEntry, WithCompareAndWrite, WithSubjects } from './storage.js'

// Session keys are hashes (base64url); a NUL never appears in one.
const PREFIX = 'subjects\0'
// A round is lost only to another change of the same subject's index; fifty in a row is a fault.
const ROUNDS = 50

type Entries = Map<string, [value: string, expiresAt: number | null]>

function parse (text: string | null, now: number): Entries {
  const entries: Entries = new Map()
  if (text === null || text === '') return entries
  try {
    const stored = JSON.parse(text) as Record<string, [string, number | null]>
    for (const [key, entry] of Object.entries(stored)) {
      if (Array.isArray(entry) && typeof entry[0] === 'string' && !hasExpired(entry[1], now)) entries.set(key, [entry[0], entry[1]])
    }
  } catch {
    // An index that cannot be read is an empty one; the sessions it listed are still verified on use.
  }
  return entries
}

/** The record's expiry: that of its last entry (null when one has none), or already past when empty. */
function lastExpiry (entries: Entries, now: number): number | null {
  if (entries.size === 0) return now - 1
  let last = 0
  for (const [, expiresAt] of entries.values()) {
    if (expiresAt === null) return null
    last = Math.max(last, expiresAt)
  }
  return last
}

export function recordSubjects (storage: WithCompareAndWrite): Pick<WithSubjects, 'indexSubject' | 'subjectEntries' | 'unindexSubject'> {
  async function change (subject: string, edit: (entries: Entries) => void): Promise<void> {
    const key = PREFIX + subject
    for (let round = 0; round < ROUNDS; round++) {
      const now = Date.now()
      const current = await storage.read(key)
      const entries = parse(current, now)
      edit(entries)
      if (current === null && entries.size === 0) return
      const text = JSON.stringify(Object.fromEntries(entries))
      if (await storage.compareAndWrite(key, current, text, lastExpiry(entries, now))) return
    }
    throw new Error('the subject index kept changing under this write')
  }

  return {
    async indexSubject (subject, key, value, expiresAt) {
      checkExpiry(expiresAt)
      if (typeof value !== 'string') throw new TypeError('value must be a string')
      await change(subject, (entries) => {
        if (!hasExpired(expiresAt)) entries.set(key, [value, expiresAt])
        else entries.delete(key)
      })
    },
    async subjectEntries (subject): Promise<SubjectEntry[]> {
      const entries = parse(await storage.read(PREFIX + subject), Date.now())
      return [...entries].map(([key, [value, expiresAt]]) => ({ key, value, expiresAt }))
    },
    async unindexSubject (subject, keys) {
      await change(subject, (entries) => { for (const key of keys) entries.delete(key) })
    },
  }
}
