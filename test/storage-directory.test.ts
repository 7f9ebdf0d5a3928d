import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { test, type Test } from 'tap'
import { directoryStorage } from '../storages/directory.js'
import { fakeClock } from './helpers/app.js'
import { canMount, mountTmpfs } from './helpers/tmpfs.js'

const HOUR = 3_600_000
const RECORD = /^[0-9a-f]{64}$/
const FOLDER = /^[0-9a-f]{2}$/

function tempDir (t: Test, prefix = 'fss-directory-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Every path under `dir`, relative, sorted (folders end with '/'). */
function tree (dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath ?? entry.path, entry.name).slice(dir.length + 1)
    out.push(entry.isDirectory() ? path + '/' : path)
  }
  return out.sort()
}

function recordFiles (dir: string): string[] {
  return tree(dir).filter((path) => RECORD.test(path.split('/').pop() ?? ''))
}

/** Keys that share a fan-out folder, found by writing probes and looking at the disk. */
async function keysSharingAFolder (dir: string, count: number): Promise<string[]> {
  const storage = directoryStorage(dir, { sweepInterval: 0 })
  const byFolder = new Map<string, string[]>()
  for (let i = 0; ; i++) {
    const key = `probe ${i}`
    await storage.write(key, 'x', null)
    const folder = recordFiles(dir).find((path) => !Array.from(byFolder.values()).flat().includes(path))
    await storage.invalidate(key)
    const name = (folder ?? '').split('/')[0] as string
    const keys = [...(byFolder.get(name) ?? []), key]
    byFolder.set(name, keys)
    if (keys.length === count) {
      await storage.close()
      return keys
    }
  }
}

test('the directory is created if missing, and a bad dir is refused at once', async (t) => {
  const base = tempDir(t)
  const dir = join(base, 'a', 'b', 'sessions')
  const storage = directoryStorage(dir)
  t.teardown(() => storage.close())
  t.ok(statSync(dir).isDirectory(), 'created, with its parents')
  for (const path of [join(base, 'a'), join(base, 'a', 'b'), dir]) t.equal(statSync(path).mode & 0o077, 0, `${path.slice(base.length)} is created for its owner only`)
  t.equal(storage.directory, resolve(dir))
  t.same(tree(dir), [], 'and nothing in it yet')

  writeFileSync(join(base, 'file'), 'not a directory')
  t.throws(() => directoryStorage(join(base, 'file')), { code: 'FST_SESSIONS_OPTIONS', message: /cannot create the directory/ })
  t.throws(() => directoryStorage(''), { code: 'FST_SESSIONS_OPTIONS', message: /dir must be a non-empty path/ })
  t.throws(() => directoryStorage(dir, { cached: 'yes' } as never), { code: 'FST_SESSIONS_OPTIONS', message: /cached/ })
  t.throws(() => directoryStorage(dir, { sweepInterval: -1 }), { code: 'FST_SESSIONS_OPTIONS', message: /sweepInterval/ })
  t.throws(() => directoryStorage(dir, { cache: true } as never), { code: 'FST_SESSIONS_OPTIONS', message: /unknown option "cache"/ })
  const options = { cached: false }
  const other = directoryStorage(dir, options)
  await other.close()
  t.same(options, { cached: false }, 'the options object is not changed')
})

test('a directory its group or others may write is refused, sticky bit or not', async (t) => {
  for (const mode of [0o777, 0o1777, 0o770, 0o720, 0o702]) {
    const dir = tempDir(t)
    chmodSync(dir, mode)
    t.throws(() => directoryStorage(dir), { code: 'FST_SESSIONS_OPTIONS', message: /is writable by its group or by others/ }, mode.toString(8))
  }
  const dir = tempDir(t)
  chmodSync(dir, 0o755)
  const storage = directoryStorage(dir)
  t.teardown(() => storage.close())
  t.equal(storage.directory, dir, 'one others may only read is accepted (records and folders are the owner\'s only)')
})

test('a directory owned by another user is refused', { skip: process.getuid?.() === 0 ? false : 'needs root, to give a folder to another user' }, async (t) => {
  const dir = tempDir(t)
  chownSync(dir, 12345, 12345)
  t.throws(() => directoryStorage(dir), { code: 'FST_SESSIONS_OPTIONS', message: /belongs to another user \(uid 12345\)/ })
  chownSync(dir, 0, 0)
  const storage = directoryStorage(dir)
  t.teardown(() => storage.close())
  t.equal(storage.directory, dir, 'its own (root\'s) directory is accepted')
})

test('a record is one file in a fan-out folder: a header with the expiry, then the value', async (t) => {
  const dir = tempDir(t)
  const storage = directoryStorage(dir)
  t.teardown(() => storage.close())
  await storage.write('k', 'héllo', 1_900_000_000_123)
  const files = recordFiles(dir)
  t.equal(files.length, 1)
  const [folder, name] = (files[0] as string).split('/') as [string, string]
  t.match(folder, FOLDER)
  t.match(name, RECORD)
  t.equal(name.slice(0, 2), folder, 'the folder is the first byte of the name')
  t.same(tree(dir), [folder + '/', files[0]], 'no other file or folder')
  t.equal(readFileSync(join(dir, files[0] as string), 'utf8'), 'FSS1 1900000000123 0000000006\nhéllo'.replace('1900000000123', '0001900000000123'))
  t.equal(statSync(join(dir, files[0] as string)).mode & 0o777, 0o600, 'only the owner can read a session')
  t.equal(statSync(join(dir, folder)).mode & 0o077, 0, 'nor list the folder')
  await storage.write('k', 'no expiry', null)
  t.equal(readFileSync(join(dir, files[0] as string), 'utf8'), 'FSS1 ---------------- 0000000009\nno expiry')
})

test('no file or folder name, and no file content, contains a hostile key', async (t) => {
  const dir = tempDir(t)
  const storage = directoryStorage(dir)
  t.teardown(() => storage.close())
  // Letters outside hex, so a key can never be found inside a hex name by chance.
  const marker = 'zqxj' + Array.from(randomBytes(8), (b) => String.fromCharCode(0x67 + (b % 20))).join('')
  const shapes = ['../', '../../etc/', '/', '\\', '..\\', '\0', 'a/b/', '%2e%2e%2f', '.', '~', 'CON', ' ', '\n', '😀', '\uD800']
  const keys = [...shapes.map((s) => s + marker), ...shapes.map((s) => marker + s), marker.repeat(500)]
  for (const [i, key] of keys.entries()) await storage.write(key, `value ${i}`, Date.now() + HOUR)
  const paths = tree(dir)
  t.equal(recordFiles(dir).length, keys.length, 'one file per key')
  for (const path of paths) {
    const parts = path.replace(/\/$/, '').split('/')
    t.ok(parts.length <= 2 && FOLDER.test(parts[0] as string) && (parts[1] === undefined || RECORD.test(parts[1])), `${path} is a hex folder or a hex file in one`)
    t.notOk(path.includes(marker), 'the key is not in the path')
    if (!path.endsWith('/')) t.notOk(readFileSync(join(dir, path), 'latin1').includes(marker), 'nor in the content')
  }
  for (const [i, key] of keys.entries()) t.equal(await storage.read(key), `value ${i}`)
})

test('1000 reads, touches and invalidations of unknown hostile keys create no file or folder', async (t) => {
  const dir = tempDir(t)
  const storage = directoryStorage(dir)
  t.teardown(() => storage.close())
  await storage.write('existing', 'value', Date.now() + HOUR)
  const before = tree(dir)
  const hostile = ['', '.', '..', '../', '../../../../tmp/x', '/', '/etc/passwd', '\0', 'a\0b', '\\..\\', '%2e%2e', 'x'.repeat(100_000)]
  for (let i = 0; i < 1000; i++) {
    const key = i < hostile.length ? hostile[i] as string : i % 2 === 0 ? randomBytes(32).toString('base64url') : '../' + randomBytes(i % 64).toString('latin1')
    t.equal(await storage.read(key), null)
    await storage.touch(key, Date.now() + HOUR)
    await storage.invalidate(key)
  }
  t.same(tree(dir), before, 'the directory is exactly as it was')
  t.equal(await storage.read('existing'), 'value')
})

test('an expired file reads as null and is removed with its emptied folder', async (t) => {
  const dir = tempDir(t)
  const clock = fakeClock(t)
  const storage = directoryStorage(dir)
  t.teardown(() => storage.close())
  await storage.write('k', 'value', clock.now + 1000)
  clock.advance(999)
  t.equal(await storage.read('k'), 'value')
  t.equal(recordFiles(dir).length, 1)
  clock.advance(1)
  t.equal(await storage.read('k'), null)
  t.same(tree(dir), [], 'file and folder are gone, the directory stays')
  t.ok(existsSync(dir))
})

test('a new storage on the same directory reads the records, with their expiry', async (t) => {
  const dir = tempDir(t)
  const clock = fakeClock(t)
  const first = directoryStorage(dir)
  for (let i = 0; i < 50; i++) await first.write(`key ${i}`, `value ${i}`, i % 2 === 0 ? null : clock.now + 1000)
  await first.close()
  const second = directoryStorage(dir)
  t.teardown(() => second.close())
  for (let i = 0; i < 50; i++) t.equal(await second.read(`key ${i}`), `value ${i}`)
  clock.advance(1000)
  for (let i = 0; i < 50; i++) t.equal(await second.read(`key ${i}`), i % 2 === 0 ? `value ${i}` : null, `key ${i} after its expiry`)
  t.equal(recordFiles(dir).length, 25, 'the expired half was removed')
})

test('touch rewrites only the expiry, in place', async (t) => {
  const dir = tempDir(t)
  const storage = directoryStorage(dir)
  t.teardown(() => storage.close())
  await storage.write('k', 'value', 1_900_000_000_000)
  const file = join(dir, recordFiles(dir)[0] as string)
  const inode = statSync(file).ino
  await storage.touch('k', 1_900_000_000_999)
  t.equal(readFileSync(file, 'utf8'), 'FSS1 0001900000000999 0000000005\nvalue')
  await storage.touch('k', null)
  t.equal(readFileSync(file, 'utf8'), 'FSS1 ---------------- 0000000005\nvalue')
  t.equal(statSync(file).ino, inode, 'the same file, not a rewrite')
  await storage.touch('k', Date.now() - 1)
  t.equal(await storage.read('k'), null, 'a touch to the past expires the record')
  t.same(tree(dir), [])
})

test('a write whose expiry has passed removes the record', async (t) => {
  const dir = tempDir(t)
  const storage = directoryStorage(dir)
  t.teardown(() => storage.close())
  await storage.write('k', 'value', null)
  await storage.write('k', 'value', Date.now() - 1)
  t.same(tree(dir), [])
})

test('a file with a header this version does not know reads as null and is left alone', async (t) => {
  const dir = tempDir(t)
  const clock = fakeClock(t)
  const storage = directoryStorage(dir)
  t.teardown(() => storage.close())
  await storage.write('k', 'value', clock.now + 1000)
  const file = join(dir, recordFiles(dir)[0] as string)
  for (const content of ['FSS2 something else', '', 'FSS1 9000000000000000 0000000099\nshort']) {
    writeFileSync(file, content)
    t.equal(await storage.read('k'), null, JSON.stringify(content))
    t.ok(existsSync(file), 'not deleted: it may belong to a newer version')
  }
  clock.advance(HOUR)
  t.equal(await storage.sweep(), 0, 'the sweeper leaves it too')
  t.ok(existsSync(file))
})

test('invalidate removes the folder it emptied, never one still in use nor the directory', async (t) => {
  const dir = tempDir(t)
  const [a, b] = await keysSharingAFolder(dir, 2) as [string, string]
  const storage = directoryStorage(dir)
  t.teardown(() => storage.close())
  await storage.write(a, '1', null)
  await storage.write(b, '2', null)
  t.equal(tree(dir).filter((p) => p.endsWith('/')).length, 1, 'the two keys share a folder')
  await storage.invalidate(a)
  t.equal(recordFiles(dir).length, 1)
  t.equal(tree(dir).length, 2, 'the folder stays while it holds a record')
  await storage.invalidate(b)
  t.same(tree(dir), [], 'the emptied folder is removed')
  t.ok(existsSync(dir), 'the directory itself stays')
})

test('writes racing with invalidations that empty their folder all succeed', async (t) => {
  const dir = tempDir(t)
  const [a, b] = await keysSharingAFolder(dir, 2) as [string, string]
  const storage = directoryStorage(dir)
  t.teardown(() => storage.close())
  for (let round = 0; round < 200; round++) {
    await storage.write(b, 'b', null)
    await Promise.all([storage.invalidate(b), storage.write(a, `a ${round}`, null)])
    t.equal(await storage.read(a), `a ${round}`)
    await storage.invalidate(a)
  }
  t.same(tree(dir), [])
})

test('sweeping removes expired records and emptied folders, and keeps live ones', async (t) => {
  const dir = tempDir(t)
  const clock = fakeClock(t)
  const storage = directoryStorage(dir, { sweepInterval: 0 })
  t.teardown(() => storage.close())
  for (let i = 0; i < 30; i++) await storage.write(`expiring ${i}`, 'x', clock.now + 1000)
  for (let i = 0; i < 10; i++) await storage.write(`live ${i}`, 'y', clock.now + HOUR)
  clock.advance(1000)
  t.equal(await storage.sweep(), 30)
  t.equal(recordFiles(dir).length, 10)
  const folders = tree(dir).filter((p) => p.endsWith('/'))
  t.same(folders, [...new Set(recordFiles(dir).map((p) => p.split('/')[0] + '/'))].sort(), 'only folders that hold a record remain')
  for (let i = 0; i < 10; i++) t.equal(await storage.read(`live ${i}`), 'y')
})

test('a sweep examines a bounded number of entries and the next one continues', async (t) => {
  const dir = tempDir(t)
  const clock = fakeClock(t)
  const storage = directoryStorage(dir, { sweepInterval: 0, sweepBatch: 10 })
  t.teardown(() => storage.close())
  for (let i = 0; i < 40; i++) await storage.write(`expiring ${i}`, 'x', clock.now + 1000)
  for (let i = 0; i < 40; i++) await storage.write(`live ${i}`, 'x', null)
  clock.advance(1000)
  let removed = 0
  let sweeps = 0
  while (removed < 40 && sweeps < 100) {
    const count = await storage.sweep()
    t.ok(count <= 10, `sweep ${sweeps} removed ${count}`)
    removed += count
    sweeps++
  }
  t.equal(removed, 40)
  t.ok(sweeps >= 4 && sweeps <= 9, `${sweeps} sweeps of 10 entries for 80 files`)
  t.equal(recordFiles(dir).length, 40)
})

test('sweeping removes temp files left by a dead writer, but not fresh ones nor foreign files', async (t) => {
  const dir = tempDir(t)
  const storage = directoryStorage(dir, { sweepInterval: 0 })
  t.teardown(() => storage.close())
  await storage.write('k', 'v', null)
  const folder = join(dir, recordFiles(dir)[0]?.split('/')[0] as string)
  const stale = join(folder, `.${'a'.repeat(64)}.${'0'.repeat(16)}.tmp`)
  const fresh = join(folder, `.${'b'.repeat(64)}.${'1'.repeat(16)}.tmp`)
  const foreign = join(folder, 'notes.txt')
  for (const file of [stale, fresh, foreign]) writeFileSync(file, 'FSS1 partial')
  const hourAgo = new Date(Date.now() - HOUR)
  utimesSync(stale, hourAgo, hourAgo)
  utimesSync(foreign, hourAgo, hourAgo)
  t.equal(await storage.sweep(), 1)
  t.notOk(existsSync(stale), 'the stale temp file is gone')
  t.ok(existsSync(fresh), 'a temp file of a write in progress stays')
  t.ok(existsSync(foreign), 'a file that is not ours stays')
  t.equal(await storage.read('k'), 'v')
})

test('the age of a temp file is on the real clock: a faked clock (years off) does not move it', async (t) => {
  const dir = tempDir(t)
  const hourAgo = new Date(Date.now() - HOUR)
  const clock = fakeClock(t, 1_000_000_000_000)
  const storage = directoryStorage(dir, { sweepInterval: 0 })
  t.teardown(() => storage.close())
  await storage.write('k', 'v', clock.now + HOUR)
  const folder = join(dir, recordFiles(dir)[0]?.split('/')[0] as string)
  const stale = join(folder, `.${'a'.repeat(64)}.${'0'.repeat(16)}.tmp`)
  const fresh = join(folder, `.${'b'.repeat(64)}.${'1'.repeat(16)}.tmp`)
  for (const file of [stale, fresh]) writeFileSync(file, 'FSS1 partial')
  utimesSync(stale, hourAgo, hourAgo)
  t.equal(await storage.sweep(), 1)
  t.notOk(existsSync(stale), 'a temp file an hour old by the real clock is removed')
  t.ok(existsSync(fresh), 'a fresh one stays')
  t.equal(await storage.read('k'), 'v', 'and the record, live by the faked clock, reads back')
})

test('the background sweeper removes expired files without any read, until close', async (t) => {
  const dir = tempDir(t)
  const storage = directoryStorage(dir, { sweepInterval: 0.05 })
  for (let i = 0; i < 5; i++) await storage.write(`k ${i}`, 'v', Date.now() + 100)
  await storage.write('live', 'v', null)
  const deadline = Date.now() + 5000
  while (recordFiles(dir).length > 1 && Date.now() < deadline) await sleep(50)
  t.equal(recordFiles(dir).length, 1, 'the expired files were swept')
  await storage.close()
  await storage.close()
  const writer = directoryStorage(dir, { sweepInterval: 0 })
  t.teardown(() => writer.close())
  await writer.write('later', 'v', Date.now() + 50)
  await sleep(400)
  t.equal(recordFiles(dir).length, 2, 'a closed storage sweeps no more')
})

test('with cached: true, reads are served from memory and invalidate reaches the disk', async (t) => {
  const dir = tempDir(t)
  const storage = directoryStorage(dir, { cached: true })
  t.teardown(() => storage.close())
  t.equal(storage.directory, resolve(dir))
  t.type(storage.sweep, 'function')
  await storage.write('k', 'v', Date.now() + HOUR)
  const [file] = recordFiles(dir)
  t.ok(file, 'written through to disk')
  rmSync(join(dir, file as string))
  t.equal(await storage.read('k'), 'v', 'served from the cache')
  await storage.write('k', 'v2', Date.now() + HOUR)
  await storage.invalidate('k')
  t.equal(await storage.read('k'), null)
  t.same(tree(dir), [], 'invalidate removed the file and its folder')
})

test('bad values and keys are refused with a TypeError, and nothing is written', async (t) => {
  const dir = tempDir(t)
  const storage = directoryStorage(dir)
  t.teardown(() => storage.close())
  await t.rejects(storage.write('k', 'lone \uD800 surrogate', null), { name: 'TypeError', message: /well-formed/ })
  await t.rejects(storage.write('k', 42 as unknown as string, null), { name: 'TypeError', message: /value must be a string/ })
  await t.rejects(storage.write(42 as unknown as string, 'v', null), { name: 'TypeError', message: /key must be a string/ })
  await t.rejects(storage.write('k', 'v', Number.NaN), { name: 'TypeError', message: /expiresAt/ })
  t.same(tree(dir), [])
})

test('a file where a folder should be makes writes reject, and they recover once it is gone', async (t) => {
  const dir = tempDir(t)
  const storage = directoryStorage(dir)
  t.teardown(() => storage.close())
  await storage.write('k', 'v', null)
  const folder = (recordFiles(dir)[0] as string).split('/')[0] as string
  await storage.invalidate('k')
  writeFileSync(join(dir, folder), 'in the way')
  await t.rejects(storage.write('k', 'v2', null), { code: /^(ENOTDIR|EEXIST)$/ })
  t.equal(await storage.read('k'), null, 'a read finds nothing and does not fail')
  rmSync(join(dir, folder))
  await storage.write('k', 'v2', null)
  t.equal(await storage.read('k'), 'v2')
})

const isRoot = process.getuid?.() === 0

if (!canMount && process.env['CI'] !== undefined) {
  // CI runs as root on a machine that can mount: there, a skip would hide a missing check.
  test('under CI, a small tmpfs can be mounted for the read-only and full-disk cases', async (t) => {
    t.fail('mount -t tmpfs is not permitted: the read-only and full-disk cases cannot run')
  })
}

test('a write to a read-only directory rejects, reads still work, and writes recover', {
  skip: !canMount && isRoot ? 'running as root without the right to mount: chmod does not stop root from writing' : false,
}, async (t) => {
  const mountPoint = canMount ? mountTmpfs(t, '4m') : null
  const dir = join(mountPoint ?? tempDir(t), 'sessions')
  const storage = directoryStorage(dir)
  t.teardown(() => storage.close())
  await storage.write('k', 'old', null)
  const makeReadOnly = (readOnly: boolean): void => {
    if (mountPoint !== null) {
      execFileSync('mount', ['-o', `remount,${readOnly ? 'ro' : 'rw'}`, mountPoint], { stdio: 'ignore' })
    } else {
      for (const path of [dir, ...tree(dir).filter((p) => p.endsWith('/')).map((p) => join(dir, p))]) chmodSync(path, readOnly ? 0o500 : 0o700)
    }
  }
  makeReadOnly(true)
  t.teardown(() => { try { makeReadOnly(false) } catch {} })
  await t.rejects(storage.write('k', 'new', null), { code: /^(EROFS|EACCES)$/ })
  await t.rejects(storage.write('other', 'new', null), { code: /^(EROFS|EACCES)$/ })
  await t.rejects(storage.invalidate('k'), { code: /^(EROFS|EACCES)$/ })
  t.equal(await storage.read('k'), 'old', 'the old record is intact and readable')
  makeReadOnly(false)
  await storage.write('k', 'new', null)
  t.equal(await storage.read('k'), 'new')
  t.notOk(tree(dir).some((p) => p.endsWith('.tmp')), 'no temp file was left behind')
})

test('a full disk makes a write reject, keeps the old record and leaves no temp file', {
  skip: canMount ? false : 'mounting is not allowed here, so no small file system can be filled',
}, async (t) => {
  const mountPoint = mountTmpfs(t, '256k')
  const dir = join(mountPoint, 'sessions')
  const storage = directoryStorage(dir)
  t.teardown(() => storage.close())
  await storage.write('k', 'old', null)
  await t.rejects(storage.write('k', 'x'.repeat(1024 * 1024), null), { code: 'ENOSPC' })
  t.equal(await storage.read('k'), 'old')
  t.notOk(tree(dir).some((p) => p.endsWith('.tmp')), 'the temp file was removed')
  await storage.write('k', 'small again', null)
  t.equal(await storage.read('k'), 'small again', 'writes work once there is room')
})

test('a storage made on a directory that appears later still works (mkdir on write)', async (t) => {
  const dir = tempDir(t)
  const storage = directoryStorage(dir)
  t.teardown(() => storage.close())
  rmSync(dir, { recursive: true })
  t.equal(await storage.read('k'), null, 'a read of a vanished directory is a miss')
  t.notOk(existsSync(dir), 'and creates nothing')
  await storage.write('k', 'v', null)
  t.equal(await storage.read('k'), 'v', 'a write makes the directory again')
  mkdirSync(join(dir, 'unrelated'))
  t.equal(await storage.sweep(), 0, 'folders that are not ours are ignored')
  t.ok(existsSync(join(dir, 'unrelated')))
})
