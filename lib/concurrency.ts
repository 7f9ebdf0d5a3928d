import { hasCapability, type SessionStorage, type WithCompareAndWrite } from '../storages/storage.js'
import { RETIRED } from './record.js'

// What a server-side write does when another request wrote the same session meanwhile. With
// compareAndWrite a write never lands on a session that another request ended (logout,
// regenerate); a change made meanwhile is a conflict with `concurrency: 'reject'` and is
// overwritten otherwise (last write wins). Without compareAndWrite, plain writes: last write wins,
// ended sessions included.

/** Each failed compare-and-write round means another request wrote; after this many, see `update`. */
const ROUNDS = 4
/** How long a regenerate's tombstone lives if the invalidation that follows it fails. */
const TOMBSTONE_MS = 60_000

/** Writes a new session's record. */
export async function create (storage: SessionStorage, key: string, record: string, expiresAt: number | null): Promise<boolean> {
  await storage.write(key, record, expiresAt)
  return true
}

/**
 * Writes a session read in this request back under its key, unless it ended meanwhile (or, with
 * `reject`, changed). Resolves whether it wrote: false is a conflict.
 */
export async function update (storage: SessionStorage, key: string, expected: string | null, record: string, expiresAt: number | null, reject: boolean): Promise<boolean> {
  if (!hasCapability(storage, 'compareAndWrite')) {
    await storage.write(key, record, expiresAt)
    return true
  }
  if (await storage.compareAndWrite(key, expected, record, expiresAt)) return true
  if (reject) return false
  const written = await retry(storage, key, record, expiresAt)
  if (written !== null) return written
  // Under heavy contention the write goes through unguarded.
  await storage.write(key, record, expiresAt)
  return true
}

/**
 * Regenerate, before the new id is written: the old key's record, if it is still the one this
 * request read, becomes RETIRED in one compare-and-set, so a logout (or, with `reject`, any
 * change) that happened meanwhile makes the move a conflict instead of copying an ended session
 * to a new id. With last-write-wins a change meanwhile is overwritten, as a plain `set` would.
 * Without compareAndWrite there is nothing to condition on: the move is written.
 */
export async function retire (storage: SessionStorage, key: string, expected: string | null, now: number, reject: boolean): Promise<boolean> {
  if (!hasCapability(storage, 'compareAndWrite')) return true
  const expiresAt = now + TOMBSTONE_MS
  if (await storage.compareAndWrite(key, expected, RETIRED, expiresAt)) return true
  if (reject) return false
  return await retry(storage, key, RETIRED, expiresAt) ?? false
}

// Last write wins over any change but the end of the session: compare-and-write against what is
// there now, a few rounds. False when the session ended, null when every round lost.
async function retry (storage: WithCompareAndWrite, key: string, value: string, expiresAt: number | null): Promise<boolean | null> {
  for (let attempt = 0; attempt < ROUNDS; attempt++) {
    const current = await storage.read(key)
    if (current === null || current === RETIRED) return false
    if (await storage.compareAndWrite(key, current, value, expiresAt)) return true
  }
  return null
}

/** A rewrite of a record as read (an idle refresh): compare-and-set where possible, so it never overwrites another request's change. */
export async function rewrite (storage: SessionStorage, key: string, expected: string | null, record: string, expiresAt: number | null): Promise<void> {
  if (storage.compareAndWrite !== undefined) await storage.compareAndWrite(key, expected, record, expiresAt)
  else await storage.write(key, record, expiresAt)
}
