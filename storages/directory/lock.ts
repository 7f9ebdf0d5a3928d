/**
 * The cross-process lock of one record: a folder `.<name>.lock` beside the record that holds exactly
 * one entry named after its owner: `<pid>-<process start>-<host>-<nonce>`. What is subtle:
 *
 * - Taking it is one rename of a temp folder that already holds the owner entry onto the lock's
 *   path, so a lock never exists without its owner, and a rename onto a lock that has an owner fails.
 * - Breaking it removes the judged owner entry by its own name (the nonce makes it unique), then the
 *   folder, which `rmdir` removes only when empty. The judgement and the removal thus name the same
 *   lock: a lock taken again meanwhile has another entry and is never removed by mistake. (Removing
 *   "the stale lock" by path was the cause of "lock broken as stale while held": a breaker judged a
 *   dead holder's lock, another process broke it and took the path, and the first removed the new,
 *   live lock. Inode and change-time checks only narrowed that window.)
 * - A lock whose holder runs on this host (same host name, boot and pid namespace) is broken only
 *   when that process is gone: its pid is free, or now names a process started at another time (a
 *   recycled pid). A live holder's lock is never broken, however old. A lock of another host is
 *   broken once older than 10 s by its mtime, so clocks must agree within seconds.
 * - A holder checks that its entry is still there right before it renames, and fails if not.
 */
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, readlinkSync, type Stats } from 'node:fs'
import { lstat, mkdir, open, readdir, readFile, readlink, rename, rmdir, symlink, unlink } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { errorCode, ignore } from './errors.js'

// A lock of another host is broken when it is older than this (its holder died or froze there);
// a caller waits this long for a lock at most.
export const STALE_LOCK_MS = 10_000
export const LOCK_WAIT_MS = 3000

export const LOCK_NAME = /^\.[0-9a-f]{64}\.lock$/
export const LOCK_TEMP_NAME = /^\.[0-9a-f]{64}\.[0-9a-f]{16}\.locking$/
const OWNER = /^(\d+)-(\d+)-([0-9a-f]{16})-[0-9a-f]{16}$/
// The lock of versions before this one: a symbolic link (or a file) holding `pid@host`.
const LEGACY_OWNER = /^(\d+)@(.*)$/

/** A lock this process holds: the lock folder and its owner entry. */
export interface HeldLock {
  readonly path: string
  readonly entry: string
}

/** A process's start time since boot (clock ticks, field 22 of /proc/<pid>/stat); '0' if unknown. */
function startTimeOf (stat: string): string {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return /^\d+$/.test(fields[19] ?? '') ? fields[19] as string : '0'
}

function readSync (read: () => string): string {
  try {
    return read()
  } catch {
    return ''
  }
}

const START = startTimeOf(readSync(() => readFileSync('/proc/self/stat', 'latin1')))
// Pids are comparable only within one kernel boot and one pid namespace.
const HOST = createHash('sha256').update([
  hostname(),
  readSync(() => readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim()),
  readSync(() => readlinkSync('/proc/self/ns/pid')),
].join('\0')).digest('hex').slice(0, 16)

/** Wall-clock time for lock ages, compared with file mtimes; immune to tests that fake Date.now. */
export function wallClock (): number {
  return performance.timeOrigin + performance.now()
}

/** Whether the process `pid`, started at `start` ('0': unknown), still runs on this host. */
async function processAlive (pid: number, start: string): Promise<boolean> {
  // This process, unless the lock names another start (an earlier process that had our pid).
  if (pid === process.pid) return start === START || start === '0'
  if (start !== '0') {
    const stat = await readFile(`/proc/${pid}/stat`, 'latin1').catch(ignore('ENOENT', 'ESRCH'))
    if (stat !== undefined) return startTimeOf(stat) === start
  }
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return errorCode(err) === 'EPERM'
  }
}

/** Whether the lock owned by `owner` (an entry name), last refreshed at `mtimeMs`, is stale. */
export async function ownerGone (owner: string, mtimeMs: number): Promise<boolean> {
  const match = OWNER.exec(owner)
  if (match?.[3] === HOST) return !await processAlive(Number(match[1]), match[2] as string)
  return wallClock() - mtimeMs >= STALE_LOCK_MS
}

// A lock left by an earlier version: judged as that version did, and removed by path (the race this
// module fixes remains for those, only until the last old process is gone).
async function breakLegacy (path: string, seen: Stats): Promise<'broken' | 'held'> {
  const text = seen.isSymbolicLink() ? await readlink(path).catch(() => '') : await readFile(path, 'utf8').catch(() => '')
  const owner = LEGACY_OWNER.exec(text)
  const dead = owner !== null && owner[2] === hostname() && !await processAlive(Number(owner[1]), '0')
  if (!dead && wallClock() - seen.mtimeMs < STALE_LOCK_MS) return 'held'
  await unlink(path).catch(ignore('ENOENT'))
  return 'broken'
}

/**
 * Removes the lock folder (or temp lock folder) at `path` if its owner is gone. Resolves 'broken',
 * 'gone' (no lock there, or only an empty folder, now removed) or 'held'.
 */
export async function breakIfStale (path: string): Promise<'broken' | 'gone' | 'held'> {
  const seen = await lstat(path).catch(ignore('ENOENT'))
  if (seen === undefined) return 'gone'
  if (!seen.isDirectory()) return await breakLegacy(path, seen)
  const [owner] = await readdir(path).catch(ignore('ENOENT', 'ENOTDIR')) ?? []
  // An empty folder is nobody's lock (a release or a break half done): rmdir takes only an empty one.
  if (owner === undefined) {
    await rmdir(path).catch(ignore('ENOENT', 'ENOTEMPTY', 'EEXIST'))
    return 'gone'
  }
  const entry = join(path, owner)
  const stats = await lstat(entry).catch(ignore('ENOENT'))
  if (stats === undefined) return 'gone'
  if (!await ownerGone(owner, stats.mtimeMs)) return 'held'
  try {
    await unlink(entry)
  } catch (err) {
    // Removed by another breaker, or by its holder's release: not ours to report.
    if (errorCode(err) === 'ENOENT') return 'gone'
    throw err
  }
  await rmdir(path).catch(ignore('ENOENT', 'ENOTEMPTY', 'EEXIST'))
  return 'broken'
}

// The owner entry: a symbolic link (one system call, no data block), or an empty file where
// symbolic links are refused (Windows without the privilege). Only its name means anything.
let links = true
async function makeEntry (entry: string): Promise<void> {
  if (links) {
    try {
      return await symlink('owner', entry)
    } catch (err) {
      if (errorCode(err) !== 'EPERM' && errorCode(err) !== 'ENOSYS') throw err
      links = false
    }
  }
  await (await open(entry, 'wx', 0o600)).close()
}

/** A fresh temp folder beside the lock, holding this process's owner entry. */
async function makeTemp (folder: string, name: string, makeFolder: (folder: string) => Promise<void>): Promise<HeldLock> {
  const nonce = randomBytes(8).toString('hex')
  const path = join(folder, `.${name}.${nonce}.locking`)
  for (let attempt = 0; ; attempt++) {
    try {
      await mkdir(path, { mode: 0o700 })
      break
    } catch (err) {
      // The folder was removed by another process's invalidate or sweep: make it again (twenty in
      // a row is a directory that cannot be written).
      if (errorCode(err) !== 'ENOENT' || attempt === 20) throw err
      await makeFolder(folder)
    }
  }
  const entry = join(path, `${process.pid}-${START}-${HOST}-${nonce}`)
  await makeEntry(entry)
  return { path, entry }
}

async function removeTemp (temp: HeldLock): Promise<void> {
  await unlink(temp.entry).catch(() => {})
  await rmdir(temp.path).catch(() => {})
}

const BUSY = ['ENOTEMPTY', 'EEXIST', 'ENOTDIR', 'EPERM']

function lockedError (): Error {
  return new Error(`the session file is locked by another process for more than ${LOCK_WAIT_MS} ms`)
}

/**
 * Takes the lock of record `name` in `folder`, breaking a stale one; fails after LOCK_WAIT_MS if a
 * live process holds it. `makeFolder` makes `folder` again when another process removed it.
 */
export async function acquireLock (folder: string, name: string, makeFolder: (folder: string) => Promise<void>): Promise<HeldLock> {
  const path = join(folder, `.${name}.lock`)
  const deadline = performance.now() + LOCK_WAIT_MS
  const temp = await makeTemp(folder, name, makeFolder)
  const entry = join(path, temp.entry.slice(temp.path.length + 1))
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await rename(temp.path, path)
        return { path, entry }
      } catch (err) {
        // ENOTEMPTY or EEXIST: a lock with an owner is there; ENOTDIR: a lock of an earlier version;
        // EPERM: Windows, which renames no folder onto another.
        if (!BUSY.includes(errorCode(err) ?? '')) throw err
        const status = await breakIfStale(path)
        if (performance.now() > deadline) throw status === 'held' ? lockedError() : err
        if (status === 'held') await sleep(1 + Math.random() * Math.min(2 ** attempt, 20))
      }
    }
  } catch (err) {
    await removeTemp(temp)
    throw err
  }
}

/**
 * Takes the lock of record `name` only if nobody holds it (a stale one is broken first), without
 * waiting: null when a live process holds it. For work that can be left to whoever holds it.
 */
export async function tryLock (folder: string, name: string, makeFolder: (folder: string) => Promise<void>): Promise<HeldLock | null> {
  const path = join(folder, `.${name}.lock`)
  const temp = await makeTemp(folder, name, makeFolder)
  const entry = join(path, temp.entry.slice(temp.path.length + 1))
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await rename(temp.path, path)
        return { path, entry }
      } catch (err) {
        if (!BUSY.includes(errorCode(err) ?? '')) throw err
        if (await breakIfStale(path) === 'held') break
      }
    }
  } catch (err) {
    await removeTemp(temp)
    throw err
  }
  await removeTemp(temp)
  return null
}

/** Whether `held` is still this process's lock (it was not broken). */
export async function stillHeld (held: HeldLock): Promise<boolean> {
  return await lstat(held.entry).catch(ignore('ENOENT')) !== undefined
}

export async function releaseLock (held: HeldLock): Promise<void> {
  await unlink(held.entry).catch(ignore('ENOENT'))
  // Another process may have taken the emptied folder meanwhile (a rename onto an empty folder).
  await rmdir(held.path).catch(ignore('ENOENT', 'ENOTEMPTY', 'EEXIST'))
}
