/**
 * One file per session under a directory. What is subtle: a record is never written in place but
 * to a temp file in its own folder, fsynced, then renamed over the old one, so a crash (or a
 * SIGKILL) leaves the old record or the new one, never a mix; a failed write removes its temp file.
 * File names are a SHA-256 of the key (its UTF-16 code units, so any string is a distinct,
 * path-safe, case-insensitive-safe name), fanned out into 256 folders by the name's first byte;
 * a key never names a path and never appears on disk. Each file starts with a fixed-width header
 * carrying the expiry, so expiry survives restarts; `touch` rewrites only that header field in
 * place (one small write), so it can never bring back an older value that a concurrent `write`
 * replaced. A file is removed as expired only after its header read expired twice and the path
 * still names the same inode, so a concurrent rewrite is never deleted. Reads never create
 * anything; the sweeper walks the folders a bounded number of entries per tick on an unref'd timer,
 * removing expired records, temp files left by crashes and the folders that became empty.
 *
 * Compare-and-write, and what it guarantees: the renames and removals of one key (`write`,
 * `invalidate`, `compareAndWrite`) take that key's lock, in this process a per-key queue and across
 * processes a lock folder beside the record (see directory/lock.ts). The new record's temp file is
 * written and fsynced before the lock is taken, so the lock covers only the compare (a read of the
 * current value) and one rename: a compare-and-write is atomic with respect to every write, removal
 * and compare-and-write of its key by any process that shares the directory. Reads take no lock (a
 * rename is atomic: they see the old record or the new one). A lock of a process on this host is
 * broken only once that process is gone; one of another host once it is 10 s old. A holder checks
 * that the lock is still its own right before it renames, and fails instead of writing if it was
 * broken. A caller waits at most 3 s for a lock a live process holds, then fails (a 503, never a
 * false success). The limits: a holder on another host frozen for more than 10 s between that check
 * and its rename (microseconds apart) can overwrite a later write; `touch` takes no lock, so a touch
 * that lands on a record a compare-and-write is replacing is lost (the new record carries its own
 * expiry). The sweeper removes the locks of dead holders and stale ones.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, statSync, type Dir, type Stats } from 'node:fs'
import { lstat, mkdir, open, opendir, readdir, rename, rmdir, unlink, type FileHandle } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import Type, { type Static } from 'typebox'
import { optionsError, parseOptions } from '../lib/options.js'
import { cacheStorage, type StoredEntry } from './cache.js'
import { checkExpiry } from './expiry.js'
import { errorCode, ignore } from './directory/errors.js'
import { acquireLock, breakIfStale, LOCK_NAME, LOCK_TEMP_NAME, releaseLock, stillHeld, wallClock, type HeldLock } from './directory/lock.js'
import type { SessionStorage } from './storage.js'

const LABEL = 'directoryStorage()'

export const DirectoryStorageOptionsSchema = Type.Object({
  /** Put a 60-second in-memory cache in front (as Ktor's `cached = true`). Default false. */
  cached: Type.Optional(Type.Boolean({ default: false })),
  /** Seconds between two background sweeps of expired files; 0 turns the sweeper off. Default 60. */
  sweepInterval: Type.Optional(Type.Number({ minimum: 0, maximum: 86_400, default: 60 })),
  /** Directory entries examined per sweep at most. Default 1000. */
  sweepBatch: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1000 })),
}, { additionalProperties: false })

export type DirectoryStorageOptions = Static<typeof DirectoryStorageOptionsSchema>

export interface DirectoryStorage extends SessionStorage {
  touch (key: string, expiresAt: number | null): Promise<void>
  compareAndWrite (key: string, expected: string | null, value: string, expiresAt: number | null): Promise<boolean>
  close (): Promise<void>
  /** The value and expiry under `key` (absent without `cached`, which hides the files behind it). */
  readEntry? (key: string): Promise<StoredEntry | null>
  /**
   * Examines up to `limit` directory entries (default `sweepBatch`), continuing where the last
   * sweep stopped; removes expired records, stale temp files and empty folders. Resolves to the
   * number of files removed.
   */
  sweep (limit?: number): Promise<number>
  /** The absolute path of the directory. */
  readonly directory: string
}

// "FSS1 <expiry: 16 digits, or 16 dashes for none> <value length in bytes: 10 digits>\n<value>"
const MAGIC = 'FSS1 '
const EXPIRY_OFFSET = MAGIC.length
const EXPIRY_WIDTH = 16
const HEADER_LENGTH = EXPIRY_OFFSET + EXPIRY_WIDTH + 1 + 10 + 1
const NO_EXPIRY = '-'.repeat(EXPIRY_WIDTH)
const HEADER = /^FSS1 (-{16}|\d{16}) (\d{10})\n$/
const RECORD_NAME = /^[0-9a-f]{64}$/
const FOLDER_NAME = /^[0-9a-f]{2}$/
const TEMP_NAME = /^\.[0-9a-f]{64}\.[0-9a-f]{16}\.tmp$/
// A temp file this old belongs to a writer that died: no live write takes ten minutes.
const STALE_TEMP_MS = 10 * 60_000
const NAME_DOMAIN = 'fastify-sessions/directory-storage\0'

interface Header {
  expiresAt: number | null
  length: number
}

function checkKey (key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new TypeError('key must be a string')
}

function checkValue (key: unknown, value: unknown, expiresAt: number | null): void {
  checkKey(key)
  checkExpiry(expiresAt)
  if (typeof value !== 'string') throw new TypeError('value must be a string')
  if (!(value as string & { isWellFormed (): boolean }).isWellFormed()) {
    throw new TypeError('value must be well-formed Unicode (it has a lone surrogate)')
  }
}

function expiryField (expiresAt: number | null): string {
  if (expiresAt === null || expiresAt === Infinity) return NO_EXPIRY
  return String(Math.min(Math.ceil(expiresAt), Number.MAX_SAFE_INTEGER)).padStart(EXPIRY_WIDTH, '0')
}

function parseHeader (bytes: Buffer): Header | null {
  if (bytes.length < HEADER_LENGTH) return null
  const match = HEADER.exec(bytes.toString('latin1', 0, HEADER_LENGTH))
  if (match === null) return null
  return { expiresAt: match[1] === NO_EXPIRY ? null : Number(match[1]), length: Number(match[2]) }
}

function expired (header: Header): boolean {
  return header.expiresAt !== null && Date.now() >= header.expiresAt
}

function encodeRecord (value: string, expiresAt: number | null): Buffer {
  const length = Buffer.byteLength(value, 'utf8')
  const bytes = Buffer.allocUnsafe(HEADER_LENGTH + length)
  bytes.write(`${MAGIC}${expiryField(expiresAt)} ${String(length).padStart(10, '0')}\n`, 0, 'latin1')
  bytes.write(value, HEADER_LENGTH, 'utf8')
  return bytes
}

async function readHeader (handle: FileHandle): Promise<Header | null> {
  const bytes = Buffer.alloc(HEADER_LENGTH)
  const { bytesRead } = await handle.read(bytes, 0, HEADER_LENGTH, 0)
  return parseHeader(bytes.subarray(0, bytesRead))
}

// The same file, not merely the same inode number: a lock removed by one process and made again by
// another can get the number back at once, and breaking "the stale lock" would then break a live one.
// The change time (to the microsecond) tells the two apart.
function sameFile (a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.ctimeMs === b.ctimeMs
}

// Whoever can write the directory can plant a record for an id of their choice: refuse a directory
// that another user owns (root excepted: it can write anywhere anyway) or that its group or others
// may write, sticky bit or not. (No such check where there are no uids: Windows.)
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
  const opts = parseOptions(DirectoryStorageOptionsSchema, options, LABEL)
  const root = resolve(dir)
  try {
    mkdirSync(root, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw optionsError(LABEL, `cannot create the directory ${JSON.stringify(root)} (${errorCode(err) ?? String(err)})`)
  }
  checkOwnership(root)
  const storage = fileStorage(root, opts.sweepBatch ?? 1000)
  const intervalMs = (opts.sweepInterval ?? 60) * 1000
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
  if (opts.cached !== true) return storage
  const cached = cacheStorage(storage, { ttl: 60 })
  return {
    read: cached.read,
    write: cached.write,
    invalidate: cached.invalidate,
    touch: cached.touch as DirectoryStorage['touch'],
    compareAndWrite: cached.compareAndWrite as DirectoryStorage['compareAndWrite'],
    close: cached.close,
    sweep: storage.sweep,
    directory: root,
  }
}

function fileStorage (root: string, sweepBatch: number): DirectoryStorage & { readEntry (key: string): Promise<StoredEntry | null> } {
  function nameOf (key: string): string {
    return createHash('sha256').update(NAME_DOMAIN).update(key, 'utf16le').digest('hex')
  }

  function folderOf (name: string): string {
    return join(root, name.slice(0, 2))
  }

  // Removes `file` if its header still reads expired (read twice: a `touch` may be rewriting it)
  // and the path still names the inode `handle` has open.
  async function removeIfExpired (file: string, handle: FileHandle): Promise<boolean> {
    const first = await readHeader(handle)
    if (first === null || !expired(first)) return false
    const again = await readHeader(handle)
    if (again === null || !expired(again)) return false
    const [opened, current] = await Promise.all([handle.stat(), lstat(file).catch(ignore('ENOENT'))])
    if (current === undefined || !sameFile(opened, current)) return false
    await unlink(file).catch(ignore('ENOENT'))
    return true
  }

  async function removeFolderIfEmpty (folder: string): Promise<void> {
    await rmdir(folder).catch(ignore('ENOENT', 'ENOTEMPTY', 'EEXIST', 'ENOTDIR', 'EBUSY'))
  }

  async function openTemp (folder: string, temp: string): Promise<FileHandle> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await open(temp, 'wx', 0o600)
      } catch (err) {
        // The folder is missing, or an invalidate or sweep of another process removed it after our
        // mkdir: make it again. Each round needs that removal to land between two system calls of
        // ours; twenty in a row is a directory that cannot be written.
        if (errorCode(err) !== 'ENOENT' || attempt === 20) throw err
      }
      await makeFolder(folder)
    }
  }

  async function makeFolder (folder: string): Promise<void> {
    try {
      await mkdir(folder, { mode: 0o700 })
    } catch (err) {
      if (errorCode(err) === 'EEXIST') return
      // The directory itself is gone: make it again. (A recursive mkdir first would hide the
      // real error of a read-only file system behind an ENOENT.)
      if (errorCode(err) !== 'ENOENT') throw err
      await mkdir(folder, { recursive: true, mode: 0o700 })
    }
  }

  // The record's bytes in a fresh, fsynced temp file beside the record; removed if anything fails.
  async function writeTemp (name: string, bytes: Buffer): Promise<string> {
    const folder = folderOf(name)
    const temp = join(folder, `.${name}.${randomBytes(8).toString('hex')}.tmp`)
    let handle: FileHandle | null = await openTemp(folder, temp)
    try {
      await handle.writeFile(bytes)
      await handle.sync()
      await handle.close()
      handle = null
      return temp
    } catch (err) {
      await handle?.close().catch(() => {})
      await unlink(temp).catch(() => {})
      throw err
    }
  }

  // Calls on one key in this process run one after the other, so they never contend for the lock
  // file among themselves; the lock file orders them with other processes.
  const queues = new Map<string, Promise<void>>()
  function serialized<T> (name: string, task: () => Promise<T>): Promise<T> {
    const result = (queues.get(name) ?? Promise.resolve()).then(task)
    const tail = result.then(() => {}, () => {})
    queues.set(name, tail)
    tail.then(() => { if (queues.get(name) === tail) queues.delete(name) }, () => {})
    return result
  }

  // Runs `change` under the key's lock (in-process queue, then lock file); `change` must check
  // `stillHeld` right before it renames or unlinks the record.
  async function locked<T> (name: string, change: (held: HeldLock) => Promise<T>): Promise<T> {
    return await serialized(name, async () => {
      const held = await acquireLock(folderOf(name), name, makeFolder)
      try {
        return await change(held)
      } finally {
        await releaseLock(held)
      }
    })
  }

  function lockLost (): Error {
    return new Error('the session file lock was broken as stale while held; nothing was written')
  }

  // Moves `temp` (or, for null, nothing: the record is removed) into place under the key's lock,
  // when `expected` is undefined or the record's value is still `expected` (null: absent).
  async function commit (key: string, name: string, temp: string | null, expected?: string | null): Promise<boolean> {
    const folder = folderOf(name)
    const file = join(folder, name)
    const removing = temp === null
    try {
      return await locked(name, async (held) => {
        if (expected !== undefined && ((await readEntry(key))?.value ?? null) !== expected) return false
        if (!await stillHeld(held)) throw lockLost()
        if (temp === null) {
          await unlink(file).catch(ignore('ENOENT', 'ENOTDIR'))
        } else {
          await rename(temp, file)
          temp = null
        }
        return true
      })
    } finally {
      if (temp !== null) await unlink(temp).catch(() => {})
      // Outside the lock: the lock file itself keeps the folder from being empty.
      if (removing) await removeFolderIfEmpty(folder)
    }
  }

  async function removeRecord (key: string, name: string): Promise<void> {
    // Nothing to remove (an unknown or hostile key): no lock, no folder made.
    const file = join(folderOf(name), name)
    if (await lstat(file).catch(ignore('ENOENT', 'ENOTDIR')) === undefined) return
    await commit(key, name, null)
  }

  async function openRecord (file: string, flags: string): Promise<FileHandle | null> {
    try {
      return await open(file, flags)
    } catch (err) {
      if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') return null
      throw err
    }
  }

  async function readEntry (key: string): Promise<StoredEntry | null> {
    checkKey(key)
    const name = nameOf(key)
    const folder = folderOf(name)
    const file = join(folder, name)
    const handle = await openRecord(file, 'r')
    if (handle === null) return null
    try {
      const bytes = await handle.readFile()
      const header = parseHeader(bytes)
      // An unknown header (another version's format, or a file we did not write) is not ours to delete.
      if (header === null || bytes.length !== HEADER_LENGTH + header.length) return null
      if (expired(header)) {
        if (await removeIfExpired(file, handle)) await removeFolderIfEmpty(folder)
        return null
      }
      return { value: bytes.toString('utf8', HEADER_LENGTH), expiresAt: header.expiresAt }
    } finally {
      await handle.close()
    }
  }

  // Sweeper state: the folder list of the current cycle, and the folder being read.
  let folders: string[] = []
  let nextFolder = 0
  let current: { path: string, dir: Dir } | null = null
  let sweeping: Promise<number> | null = null
  let closed = false

  async function sweepEntry (folder: string, name: string): Promise<boolean> {
    const file = join(folder, name)
    if (RECORD_NAME.test(name)) {
      const handle = await openRecord(file, 'r')
      if (handle === null) return false
      try {
        return await removeIfExpired(file, handle)
      } finally {
        await handle.close()
      }
    }
    if (LOCK_NAME.test(name) || LOCK_TEMP_NAME.test(name)) return await breakIfStale(file) === 'broken'
    if (TEMP_NAME.test(name)) {
      const stats = await lstat(file).catch(ignore('ENOENT'))
      if (stats === undefined || wallClock() - stats.mtimeMs < STALE_TEMP_MS) return false
      await unlink(file).catch(ignore('ENOENT'))
      return true
    }
    return false
  }

  async function sweepSome (limit: number): Promise<number> {
    let examined = 0
    let removed = 0
    let listed = false
    while (examined < limit) {
      if (closed) break
      if (current === null) {
        if (nextFolder >= folders.length) {
          // One fresh listing per call, so a directory of empty folders cannot spin.
          if (listed) break
          listed = true
          const names = await readdir(root).catch(ignore('ENOENT')) ?? []
          folders = names.filter((name) => FOLDER_NAME.test(name)).sort()
          nextFolder = 0
          if (folders.length === 0) break
        }
        const path = join(root, folders[nextFolder++] as string)
        const dir = await opendir(path).catch(ignore('ENOENT', 'ENOTDIR'))
        if (dir === undefined) continue
        current = { path, dir }
      }
      const entry = await current.dir.read()
      if (entry === null) {
        const { path, dir } = current
        current = null
        await dir.close().catch(() => {})
        await removeFolderIfEmpty(path)
        continue
      }
      examined++
      if (await sweepEntry(current.path, entry.name)) removed++
    }
    return removed
  }

  return {
    directory: root,
    readEntry,
    async read (key) {
      return (await readEntry(key))?.value ?? null
    },
    async write (key, value, expiresAt) {
      checkValue(key, value, expiresAt)
      const name = nameOf(key)
      if (expiresAt !== null && Date.now() >= expiresAt) return await removeRecord(key, name)
      await commit(key, name, await writeTemp(name, encodeRecord(value, expiresAt)))
    },
    async compareAndWrite (key, expected, value, expiresAt) {
      checkValue(key, value, expiresAt)
      if (expected !== null && typeof expected !== 'string') throw new TypeError('expected must be a string or null')
      // A mismatch seen without the lock is a valid answer: the value was not `expected` then.
      if (((await readEntry(key))?.value ?? null) !== expected) return false
      const name = nameOf(key)
      const pastExpiry = expiresAt !== null && Date.now() >= expiresAt
      // The temp file is written and fsynced before the lock is taken, so the lock is held only
      // for one read and one rename.
      return await commit(key, name, pastExpiry ? null : await writeTemp(name, encodeRecord(value, expiresAt)), expected)
    },
    async invalidate (key) {
      checkKey(key)
      await removeRecord(key, nameOf(key))
    },
    async touch (key, expiresAt) {
      checkKey(key)
      checkExpiry(expiresAt)
      const name = nameOf(key)
      const file = join(folderOf(name), name)
      const handle = await openRecord(file, 'r+')
      if (handle === null) return
      try {
        const header = await readHeader(handle)
        if (header === null || expired(header)) return
        if (expiresAt !== null && Date.now() >= expiresAt) {
          await removeRecord(key, name)
          return
        }
        // One write of 16 bytes inside the first sector: the header is never torn.
        await handle.write(expiryField(expiresAt), EXPIRY_OFFSET, 'latin1')
      } finally {
        await handle.close()
      }
    },
    async sweep (limit = sweepBatch) {
      if (sweeping !== null) return await sweeping
      sweeping = sweepSome(limit)
      try {
        return await sweeping
      } finally {
        sweeping = null
      }
    },
    async close () {
      if (closed) return
      closed = true
      await sweeping?.catch(() => {})
      await current?.dir.close().catch(() => {})
      current = null
    },
  }
}
