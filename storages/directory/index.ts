/**
 * One file per session under a directory; the modules beside this one each do one job: format.ts
 * (the record file), files.ts (names, folders, temp files, reads), lock.ts (the cross-process
 * lock), commit.ts (the changes made under it), sweeper.ts (background clean-up). What is subtle:
 *
 * - A record is never written in place but to a temp file in its own folder, fsynced, then renamed
 *   over the old one, so a crash (or a SIGKILL) leaves the old record or the new one, never a mix;
 *   a failed write removes its temp file. Reads take no lock: a rename is atomic.
 * - A key never names a path and never appears on disk: file names are a SHA-256 of the key, fanned
 *   out into 256 folders by the first byte. Reads of unknown keys create nothing.
 * - Each file starts with a fixed-width header carrying the expiry, so expiry survives restarts;
 *   `touch` rewrites only that field in place (one small write, no lock), so it never brings back
 *   an older value, but a touch that lands while a compare-and-write replaces the record is lost
 *   (the new record carries its own expiry).
 * - The renames and removals of one key (`write`, `invalidate`, `compareAndWrite`) take that key's
 *   lock; the temp file is written and fsynced before, so the lock covers one compare and one rename.
 *   A compare-and-write is thus atomic with respect to every write, removal and compare-and-write of
 *   its key by any process sharing the directory. Locks and their limits: see lock.ts.
 * - An expired record is removed on read and by the sweeper, under its lock taken without waiting:
 *   a record whose lock is held is left to the holder (commit.ts).
 * - The directory must be the app user's and writable by nobody else: whoever can write there can
 *   plant a record for an id of their choice.
 */
import { mkdirSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import Type, { type Static } from 'typebox'
import { optionsError, parseOptionsWithDefaults, withDefault } from '../../lib/options.js'
import { cacheStorage } from '../cache.js'
import { checkExpiry } from '../expiry.js'
import type { StorageWith, StoredEntry, WithReadEntry, WithSubjects } from '../storage.js'
import { recordSubjects } from '../subject-record.js'
import { commits } from './commit.js'
import { errorCode } from './errors.js'
import { recordPath, nameOf, openRecord, readRecord, writeTemp } from './files.js'
import { checkKey, checkValue, encodeRecord, expired, EXPIRY_OFFSET, expiryField, isPast, readHeader } from './format.js'
import { sweeper } from './sweeper.js'

const LABEL = 'directoryStorage()'

export const DirectoryStorageOptionsSchema = Type.Object({
  /** Put a 60-second in-memory cache in front (as Ktor's `cached = true`). Default false. */
  cached: withDefault(Type.Boolean(), false),
  /** Seconds between two background sweeps of expired files; 0 turns the sweeper off. Default 60. */
  sweepInterval: withDefault(Type.Number({ minimum: 0, maximum: 86_400 }), 60),
  /** Directory entries examined per sweep at most. Default 1000. */
  sweepBatch: withDefault(Type.Integer({ minimum: 1, maximum: 1_000_000 }), 1000),
}, { additionalProperties: false })

export type DirectoryStorageOptions = Static<typeof DirectoryStorageOptionsSchema>

/** `readEntry` is there without `cached` only (the cache hides the files behind it). */
export interface DirectoryStorage extends StorageWith<'touch' | 'compareAndWrite' | 'close'> {
  /** The subject index (a user's sessions): one record per subject, see storages/subject-record.ts. */
  indexSubject: WithSubjects['indexSubject']
  subjectEntries: WithSubjects['subjectEntries']
  unindexSubject: WithSubjects['unindexSubject']
  /**
   * Examines up to `limit` directory entries (default `sweepBatch`), continuing where the last
   * sweep stopped; removes expired records, stale temp files and empty folders. Resolves to the
   * number of files removed.
   */
  sweep (limit?: number): Promise<number>
  /** The absolute path of the directory. */
  readonly directory: string
}

// Refuses a directory that another user owns (root excepted: it can write anywhere anyway) or
// that its group or others may write, sticky bit or not. (Not checked where there are no uids.)
function checkOwnership (root: string): void {
  const uid = process.geteuid?.()
  if (uid === undefined) return
  const stats = statSync(root)
  if (stats.uid !== uid && stats.uid !== 0) {
    throw optionsError(LABEL, `the directory ${JSON.stringify(root)} belongs to another user (uid ${stats.uid}), who could write sessions into it`)
  }
  if ((stats.mode & 0o022) !== 0) {
    throw optionsError(LABEL, `the directory ${JSON.stringify(root)} is writable by its group or by others (mode ${(stats.mode & 0o7777).toString(8)}), who could write sessions into it: chmod it to 700`)
  }
}

export function directoryStorage (dir: string, options?: DirectoryStorageOptions): DirectoryStorage {
  if (typeof dir !== 'string' || dir === '') throw optionsError(LABEL, 'dir must be a non-empty path')
  const opts = parseOptionsWithDefaults(DirectoryStorageOptionsSchema, options, LABEL)
  const root = resolve(dir)
  try {
    mkdirSync(root, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw optionsError(LABEL, `cannot create the directory ${JSON.stringify(root)} (${errorCode(err) ?? String(err)})`)
  }
  checkOwnership(root)
  const storage = fileStorage(root, opts.sweepBatch)
  const intervalMs = opts.sweepInterval * 1000
  let timer: NodeJS.Timeout | null = null
  if (intervalMs > 0) {
    // A failed background sweep (a directory gone read-only) is retried next tick; requests report it.
    timer = setInterval(() => { storage.sweep().catch(() => {}) }, intervalMs)
    timer.unref()
  }
  const closeFiles = storage.close
  storage.close = async () => {
    if (timer !== null) clearInterval(timer)
    timer = null
    await closeFiles()
  }
  if (!opts.cached) return storage
  const cached = cacheStorage(storage, { ttl: 60 })
  return {
    read: cached.read,
    write: cached.write,
    invalidate: cached.invalidate,
    touch: cached.touch as DirectoryStorage['touch'],
    compareAndWrite: cached.compareAndWrite as DirectoryStorage['compareAndWrite'],
    close: cached.close,
    indexSubject: storage.indexSubject,
    subjectEntries: storage.subjectEntries,
    unindexSubject: storage.unindexSubject,
    sweep: storage.sweep,
    directory: root,
  }
}

function fileStorage (root: string, sweepBatch: number): DirectoryStorage & WithReadEntry {
  const storage = recordFiles(root, sweepBatch)
  return Object.assign(storage, recordSubjects(storage))
}

function recordFiles (root: string, sweepBatch: number): Omit<DirectoryStorage, 'indexSubject' | 'subjectEntries' | 'unindexSubject'> & WithReadEntry {
  const changes = commits(root, async (name) => await readRecord(recordPath(root, name)))
  const sweeps = sweeper(root, changes.removeExpired)

  async function readEntry (key: string): Promise<StoredEntry | null> {
    checkKey(key)
    return await readRecord(recordPath(root, nameOf(key)), changes.removeExpired)
  }

  async function touch (key: string, expiresAt: number | null): Promise<void> {
    checkKey(key)
    checkExpiry(expiresAt)
    const name = nameOf(key)
    const handle = await openRecord(recordPath(root, name), 'r+')
    if (handle === null) return
    try {
      const header = await readHeader(handle)
      if (header === null || expired(header)) return
      if (isPast(expiresAt)) return await changes.remove(name)
      // One write of 16 bytes inside the first sector: the header is never torn.
      await handle.write(expiryField(expiresAt), EXPIRY_OFFSET, 'latin1')
    } finally {
      await handle.close()
    }
  }

  return {
    directory: root,
    readEntry,
    touch,
    async read (key) {
      return (await readEntry(key))?.value ?? null
    },
    async write (key, value, expiresAt) {
      checkValue(key, value, expiresAt)
      const name = nameOf(key)
      if (isPast(expiresAt)) return await changes.remove(name)
      await changes.replace(name, await writeTemp(root, name, encodeRecord(value, expiresAt)))
    },
    async compareAndWrite (key, expected, value, expiresAt) {
      checkValue(key, value, expiresAt)
      if (expected !== null && typeof expected !== 'string') throw new TypeError('expected must be a string or null')
      // A mismatch seen without the lock is a valid answer: the value was not `expected` then.
      if (((await readEntry(key))?.value ?? null) !== expected) return false
      const name = nameOf(key)
      if (isPast(expiresAt)) return await changes.compareAndRemove(name, expected)
      // The temp file is written and fsynced before the lock is taken.
      return await changes.compareAndReplace(name, await writeTemp(root, name, encodeRecord(value, expiresAt)), expected)
    },
    async invalidate (key) {
      checkKey(key)
      await changes.remove(nameOf(key))
    },
    sweep: async (limit = sweepBatch) => await sweeps.sweep(limit),
    close: async () => { await sweeps.close() },
  }
}
