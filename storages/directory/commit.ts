// The changes that take a record's lock: in this process a per-record queue, across processes the
// lock folder (lock.ts), and the removal of an expired record. Each is one rename or one unlink, done only after the holder checked that
// the lock is still its own; the compare-and-* ones first compare the current value under the lock.
import { lstat, rename, unlink, type FileHandle } from 'node:fs/promises'
import { basename } from 'node:path'
import type { StoredEntry } from '../storage.js'
import { ignore } from './errors.js'
import { folderOf, makeFolder, recordPath, removeFolderIfEmpty, stillExpired, type RemoveExpired } from './files.js'
import { acquireLock, releaseLock, stillHeld, tryLock, type HeldLock } from './lock.js'

export interface Commits {
  /** Renames `temp` over the record. */
  replace (name: string, temp: string): Promise<void>
  /** Renames `temp` over the record if its value is still `expected` (null: absent); else removes `temp`. */
  compareAndReplace (name: string, temp: string, expected: string | null): Promise<boolean>
  /** Removes the record (and its folder, if emptied); nothing at all when there is no record. */
  remove (name: string): Promise<void>
  /** Removes the record if its value is still `expected` (null: absent). */
  compareAndRemove (name: string, expected: string | null): Promise<boolean>
  /**
   * Removes the expired record `handle` has open if it is still the one at its path, under the
   * lock taken without waiting: a record whose lock is held is left to its holder (whose rename
   * may be a fresh record) and to a later read or sweep. Resolves whether it removed it.
   */
  removeExpired: RemoveExpired
}

function lockLost (): Error {
  return new Error('the session file lock was broken as stale while held; nothing was written')
}

async function removeExpired (root: string, file: string, handle: FileHandle): Promise<boolean> {
  const name = basename(file)
  const held = await tryLock(folderOf(root, name), name, makeFolder)
  if (held === null) return false
  let removed = false
  try {
    if (await stillExpired(file, handle) && await stillHeld(held)) {
      await unlink(file).catch(ignore('ENOENT', 'ENOTDIR'))
      removed = true
    }
  } finally {
    await releaseLock(held)
  }
  if (removed) await removeFolderIfEmpty(folderOf(root, name))
  return removed
}

/** The locked changes of records under `root`; `read` reads a record's live entry by name. */
export function commits (root: string, read: (name: string) => Promise<StoredEntry | null>): Commits {
  // Calls on one record in this process run one after the other, so they never contend for the
  // lock among themselves; the lock orders them with other processes.
  const queues = new Map<string, Promise<void>>()
  function serialized<T> (name: string, task: () => Promise<T>): Promise<T> {
    const result = (queues.get(name) ?? Promise.resolve()).then(task)
    const tail = result.then(() => {}, () => {})
    queues.set(name, tail)
    tail.then(() => { if (queues.get(name) === tail) queues.delete(name) }, () => {})
    return result
  }

  // What must hold, under the lock, for a change to be made.
  type Guard = (name: string) => Promise<boolean>
  const always: Guard = async () => true
  const valueIs = (expected: string | null): Guard => async (name) => ((await read(name))?.value ?? null) === expected

  // Runs `change` under the record's lock if `guard` holds; resolves whether it ran.
  async function locked (name: string, guard: Guard, change: () => Promise<void>): Promise<boolean> {
    return await serialized(name, async () => {
      const held: HeldLock = await acquireLock(folderOf(root, name), name, makeFolder)
      try {
        if (!await guard(name)) return false
        if (!await stillHeld(held)) throw lockLost()
        await change()
        return true
      } finally {
        await releaseLock(held)
      }
    })
  }

  async function moveIntoPlace (name: string, temp: string, guard: Guard): Promise<boolean> {
    let moved = false
    try {
      return await locked(name, guard, async () => {
        await rename(temp, recordPath(root, name))
        moved = true
      })
    } finally {
      if (!moved) await unlink(temp).catch(() => {})
    }
  }

  async function removeRecord (name: string, guard: Guard): Promise<boolean> {
    try {
      return await locked(name, guard, async () => {
        await unlink(recordPath(root, name)).catch(ignore('ENOENT', 'ENOTDIR'))
      })
    } finally {
      // Outside the lock: the lock itself keeps the folder from being empty.
      await removeFolderIfEmpty(folderOf(root, name))
    }
  }

  return {
    async replace (name, temp) { await moveIntoPlace(name, temp, always) },
    compareAndReplace: async (name, temp, expected) => await moveIntoPlace(name, temp, valueIs(expected)),
    async remove (name) {
      // Nothing to remove (an unknown or hostile key): no lock, no folder made.
      if (await lstat(recordPath(root, name)).catch(ignore('ENOENT', 'ENOTDIR')) === undefined) return
      await removeRecord(name, always)
    },
    compareAndRemove: async (name, expected) => await removeRecord(name, valueIs(expected)),
    removeExpired: async (file, handle) => await removeExpired(root, file, handle),
  }
}
