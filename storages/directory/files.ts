// Where a record lives and the file operations on it that take no lock: names, fan-out folders,
// fsynced temp files, reading a record, and telling whether one expired (its removal takes the lock:
// commit.ts).
import { createHash, randomBytes } from 'node:crypto'
import type { Stats } from 'node:fs'
import { lstat, mkdir, open, rmdir, unlink, type FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import type { StoredEntry } from '../storage.js'
import { errorCode, ignore } from './errors.js'
import { expired, HEADER_LENGTH, parseHeader, readHeader } from './format.js'

export const RECORD_NAME = /^[0-9a-f]{64}$/
export const FOLDER_NAME = /^[0-9a-f]{2}$/
export const TEMP_NAME = /^\.[0-9a-f]{64}\.[0-9a-f]{16}\.tmp$/
const NAME_DOMAIN = 'fastify-sessions/directory-storage\0'

/** A record's file name: a SHA-256 of the key's UTF-16 code units, so any string is a safe, distinct name. */
export function nameOf (key: string): string {
  return createHash('sha256').update(NAME_DOMAIN).update(key, 'utf16le').digest('hex')
}

/** The fan-out folder of a record: the name's first byte. */
export function folderOf (root: string, name: string): string {
  return join(root, name.slice(0, 2))
}

export function recordPath (root: string, name: string): string {
  return join(folderOf(root, name), name)
}

export async function makeFolder (folder: string): Promise<void> {
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

export async function removeFolderIfEmpty (folder: string): Promise<void> {
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

/** The record's bytes in a fresh, fsynced temp file beside the record; removed if anything fails. */
export async function writeTemp (root: string, name: string, bytes: Buffer): Promise<string> {
  const folder = folderOf(root, name)
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

/** The record at `file` opened with `flags`, or null when there is none. */
export async function openRecord (file: string, flags: string): Promise<FileHandle | null> {
  try {
    return await open(file, flags)
  } catch (err) {
    if (errorCode(err) === 'ENOENT' || errorCode(err) === 'ENOTDIR') return null
    throw err
  }
}

// The same file, not merely the same inode number (which a new file can get back at once).
function sameFile (a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.dev === b.dev && a.ctimeMs === b.ctimeMs
}

/**
 * Whether the record `handle` has open is expired (its header read twice: a `touch` may be
 * rewriting it) and is still the file at `file`. Only under the record's lock does the answer
 * stay true until an unlink: no rename of a fresh record can land in between.
 */
export async function stillExpired (file: string, handle: FileHandle): Promise<boolean> {
  const first = await readHeader(handle)
  if (first === null || !expired(first)) return false
  const again = await readHeader(handle)
  if (again === null || !expired(again)) return false
  const [opened, current] = await Promise.all([handle.stat(), lstat(file).catch(ignore('ENOENT'))])
  return current !== undefined && sameFile(opened, current)
}

/** Removes the expired record `handle` has open (the file `file`), if it can; resolves whether it did. */
export type RemoveExpired = (file: string, handle: FileHandle) => Promise<boolean>

/** The live record at `file`; an expired one reads as null, and is given to `removeExpired` if any. */
export async function readRecord (file: string, removeExpired: RemoveExpired | null = null): Promise<StoredEntry | null> {
  const handle = await openRecord(file, 'r')
  if (handle === null) return null
  try {
    const bytes = await handle.readFile()
    const header = parseHeader(bytes)
    // An unknown header (another version's format, or a file we did not write) is not ours to delete.
    if (header === null || bytes.length !== HEADER_LENGTH + header.length) return null
    if (expired(header)) {
      if (removeExpired !== null) await removeExpired(file, handle)
      return null
    }
    return { value: bytes.toString('utf8', HEADER_LENGTH), expiresAt: header.expiresAt }
  } finally {
    await handle.close()
  }
}
