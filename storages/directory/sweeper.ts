// The sweeper: walks the fan-out folders a bounded number of entries per call, continuing where the
// last call stopped, and removes expired records, temp files and locks left by dead processes, and
// folders that became empty. Only names it made are touched; anything else in the directory stays.
import type { Dir } from 'node:fs'
import { lstat, opendir, readdir, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { ignore } from './errors.js'
import { FOLDER_NAME, openRecord, RECORD_NAME, removeFolderIfEmpty, TEMP_NAME, type RemoveExpired } from './files.js'
import { breakIfStale, LOCK_NAME, LOCK_TEMP_NAME, wallClock } from './lock.js'

// A temp file this old belongs to a writer that died: no live write takes ten minutes.
const STALE_TEMP_MS = 10 * 60_000

export interface Sweeper {
  /** Examines up to `limit` entries; resolves to the number of files removed. */
  sweep (limit: number): Promise<number>
  close (): Promise<void>
}

async function sweepEntry (folder: string, name: string, removeExpired: RemoveExpired): Promise<boolean> {
  const file = join(folder, name)
  if (RECORD_NAME.test(name)) {
    const handle = await openRecord(file, 'r')
    if (handle === null) return false
    try {
      return await removeExpired(file, handle)
    } finally {
      await handle.close()
    }
  }
  if (LOCK_NAME.test(name) || LOCK_TEMP_NAME.test(name)) return await breakIfStale(file) === 'broken'
  if (TEMP_NAME.test(name)) {
    // Its age on the real clock, as the file's mtime is: a faked Date.now moves nothing here.
    const stats = await lstat(file).catch(ignore('ENOENT'))
    if (stats === undefined || wallClock() - stats.mtimeMs < STALE_TEMP_MS) return false
    await unlink(file).catch(ignore('ENOENT'))
    return true
  }
  return false
}

export function sweeper (root: string, removeExpired: RemoveExpired): Sweeper {
  // The folder list of the current cycle, and the folder being read.
  let folders: string[] = []
  let nextFolder = 0
  let current: { path: string, dir: Dir } | null = null
  let sweeping: Promise<number> | null = null
  let closed = false

  // The next folder to read, or null when this call has listed the directory once already (so a
  // directory of empty folders cannot spin).
  async function openNextFolder (listed: { done: boolean }): Promise<{ path: string, dir: Dir } | null> {
    while (true) {
      if (nextFolder >= folders.length) {
        if (listed.done) return null
        listed.done = true
        const names = await readdir(root).catch(ignore('ENOENT')) ?? []
        folders = names.filter((name) => FOLDER_NAME.test(name)).sort()
        nextFolder = 0
        if (folders.length === 0) return null
      }
      const path = join(root, folders[nextFolder++] as string)
      const dir = await opendir(path).catch(ignore('ENOENT', 'ENOTDIR'))
      if (dir !== undefined) return { path, dir }
    }
  }

  async function sweepSome (limit: number): Promise<number> {
    let examined = 0
    let removed = 0
    const listed = { done: false }
    while (examined < limit) {
      if (closed) break
      current ??= await openNextFolder(listed)
      if (current === null) break
      const entry = await current.dir.read()
      if (entry === null) {
        const { path, dir } = current
        current = null
        await dir.close().catch(() => {})
        await removeFolderIfEmpty(path)
        continue
      }
      examined++
      if (await sweepEntry(current.path, entry.name, removeExpired)) removed++
    }
    return removed
  }

  return {
    async sweep (limit) {
      // One sweep at a time: a call during a sweep gets that sweep's count.
      sweeping ??= sweepSome(limit).finally(() => { sweeping = null })
      return await sweeping
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
