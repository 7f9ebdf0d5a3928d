// The directory storage's key lock across processes: a lock of a live process on this host is never
// broken, a lock of a dead one is broken at once, and breaking a dead lock never breaks the live
// lock that took its place. Real child processes, killed with SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { lstatSync, lutimesSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import t, { test, type Test } from 'tap'
import { directoryStorage, type DirectoryStorage } from '../storages/directory.js'
import { makeFolder } from '../storages/directory/files.js'
import { encodeRecord } from '../storages/directory/format.js'
import { acquireLock, releaseLock } from '../storages/directory/lock.js'
import { fakeClock } from './helpers/app.js'
import { compileFixtures } from './helpers/compile.js'
import { untracedEnv } from './helpers/child-env.js'

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url))
const LOOPER = fixture('directory-lock-looper')
const CONTENDER = fixture('directory-lock-contender')
const HOLDER = fixture('directory-lock-holder')
// LOCK_RACE_ROUNDS=2000 npx tap test/storage-directory-lock.test.ts runs the long variant.
const RACE_ROUNDS = Math.max(150, Number(process.env['LOCK_RACE_ROUNDS'] ?? 150) || 150)
const CHILD_ENV = untracedEnv()

// Compiled once for the file (a compile takes seconds).
const compiled = await compileFixtures(t, [HOLDER, LOOPER, CONTENDER])

/** Whether `path` exists (without following a symbolic link: lock entries are links to nothing). */
function exists (path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false }) !== undefined
}

function tempDir (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'fss-lock-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Starts a compiled fixture; resolves with the child and its first line of output. */
async function start (t: Test, script: string, args: string[]): Promise<{ child: ChildProcess, line: string }> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: CHILD_ENV })
  const exited = once(child, 'exit')
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  })
  let output = ''
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('\n')) resolve(output.slice(0, output.indexOf('\n')))
    })
    exited.then(() => reject(new Error(`${basename(script)} exited early: ${stderr}`)), reject)
  })
  return { child, line }
}

async function kill (child: ChildProcess): Promise<void> {
  const exited = once(child, 'exit')
  child.kill('SIGKILL')
  await exited
}

/** The record file of `key` (written once to find it), as folder and name. */
async function recordOf (dir: string, key: string): Promise<{ folder: string, name: string }> {
  const storage = directoryStorage(dir, { sweepInterval: 0 })
  await storage.write(key, 'first', null)
  await storage.close()
  for (const folder of readdirSync(dir)) {
    const name = readdirSync(join(dir, folder)).find((entry) => /^[0-9a-f]{64}$/.test(entry))
    if (name !== undefined) return { folder: join(dir, folder), name }
  }
  throw new Error('no record written')
}

test('a lock of a live process on this host is never broken, however old; once the process is killed it is broken at once', async (t) => {
  const dir = tempDir(t)
  const { folder, name } = await recordOf(dir, 'k')
  const { child, line: entry } = await start(t, compiled(HOLDER), [folder, name])
  t.ok(exists(entry), 'the holder has the lock')
  // An hour old by its mtime: far beyond the 10 s after which a lock of another host is broken.
  const hourAgo = new Date(Date.now() - 3_600_000)
  lutimesSync(entry, hourAgo, hourAgo)
  utimesSync(dirname(entry), hourAgo, hourAgo)

  // Three storages, as three processes would be: each waits for the lock on its own.
  const [storage, other, third] = [0, 1, 2].map(() => directoryStorage(dir, { sweepInterval: 0 })) as [DirectoryStorage, DirectoryStorage, DirectoryStorage]
  t.teardown(() => Promise.all([storage.close(), other.close(), third.close()]))
  await Promise.all([
    t.rejects(storage.write('k', 'second', null), { message: /locked by another process/ }, 'a write waits, then fails'),
    t.rejects(other.compareAndWrite('k', 'first', 'second', null), { message: /locked by another process/ }, 'so does a compare-and-write'),
    t.rejects(third.invalidate('k'), { message: /locked by another process/ }, 'and an invalidate'),
  ])
  t.equal(await storage.sweep(), 0, 'the sweeper leaves it too')
  t.ok(exists(entry), 'the lock is still the holder\'s')
  t.equal(await storage.read('k'), 'first', 'and nothing was written')

  await kill(child)
  await storage.write('k', 'second', null)
  t.equal(await storage.read('k'), 'second', 'the lock of the killed holder was broken')
  t.notOk(exists(entry))
})

test('a lock whose pid now names another process (a recycled pid) is broken', async (t) => {
  const dir = tempDir(t)
  const { folder, name } = await recordOf(dir, 'k')
  const { child, line: entry } = await start(t, compiled(HOLDER), [folder, name])
  await kill(child)
  // The same lock, but its pid is now this live test process's, which started at another time.
  const recycled = join(dirname(entry), basename(entry).replace(/^\d+-/, `${process.pid}-`))
  renameSync(entry, recycled)
  const storage = directoryStorage(dir, { sweepInterval: 0 })
  t.teardown(() => storage.close())
  await storage.write('k', 'second', null)
  t.equal(await storage.read('k'), 'second')
  t.notOk(exists(recycled))
})

test('the sweeper removes locks and lock temp folders of killed processes', async (t) => {
  const dir = tempDir(t)
  const { folder, name } = await recordOf(dir, 'k')
  const { child, line: entry } = await start(t, compiled(HOLDER), [folder, name])
  // A half-taken lock of the same dead process: its temp folder, not yet renamed.
  const temp = join(folder, `.${name}.${'0'.repeat(16)}.locking`)
  renameSync(dirname(entry), temp)
  await kill(child)
  const storage = directoryStorage(dir, { sweepInterval: 0 })
  t.teardown(() => storage.close())
  t.equal(await storage.sweep(), 1)
  t.same(readdirSync(folder), [name], 'only the record is left')
})

test('a lock of another host is held while fresh and broken once 10 s old by its mtime', async (t) => {
  const dir = tempDir(t)
  const { folder, name } = await recordOf(dir, 'k')
  const lock = join(folder, `.${name}.lock`)
  // The owner entry of a process elsewhere: its host field is not this host's.
  const entry = join(lock, `1-1-${'f'.repeat(16)}-${'0'.repeat(16)}`)
  mkdirSync(lock)
  symlinkSync('owner', entry)
  // Dated a minute ahead (that host's clock runs fast), so no stall of this machine makes it 10 s old.
  const ahead = new Date(Date.now() + 60_000)
  lutimesSync(entry, ahead, ahead)
  const storage = directoryStorage(dir, { sweepInterval: 0 })
  t.teardown(() => storage.close())
  await t.rejects(storage.write('k', 'second', null), { message: /locked by another process/ }, 'a fresh one is held')
  const old = new Date(Date.now() - 11_000)
  lutimesSync(entry, old, old)
  await storage.write('k', 'second', null)
  t.equal(await storage.read('k'), 'second', 'an old one is broken')
  t.notOk(exists(lock))
})

test('a lock an earlier version left (a symbolic link to pid@host) is understood: held while its process runs, broken once it is gone', async (t) => {
  const dir = tempDir(t)
  const { folder, name } = await recordOf(dir, 'k')
  const lock = join(folder, `.${name}.lock`)
  const storage = directoryStorage(dir, { sweepInterval: 0 })
  t.teardown(() => storage.close())
  symlinkSync(`${process.pid}@${hostname()}`, lock)
  await t.rejects(storage.write('k', 'second', null), { message: /locked by another process/ }, 'this live process holds it')
  rmSync(lock)
  const { child } = await start(t, compiled(HOLDER), [join(dir, 'elsewhere'), name])
  const pid = child.pid as number
  await kill(child)
  symlinkSync(`${pid}@${hostname()}`, lock)
  await storage.write('k', 'second', null)
  t.equal(await storage.read('k'), 'second')
  t.notOk(exists(lock))
})

/** Kills writers of `key` at random moments until one leaves its lock behind; describes that lock. */
async function deadLock (t: Test, dir: string, key: string, looper: string, lock: string): Promise<['dir' | 'link', string]> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const { child } = await start(t, looper, [dir, key])
    await sleep(Math.random() * 50)
    await kill(child)
    const stats = lstatSync(lock, { throwIfNoEntry: false })
    if (stats?.isSymbolicLink() === true) return ['link', readlinkSync(lock)]
    const [owner] = stats?.isDirectory() === true ? readdirSync(lock) : []
    if (owner !== undefined) return ['dir', owner]
  }
  throw new Error('no writer was killed while it held the lock')
}

test(`breaking a dead process's lock never breaks the live lock taken in its place (${RACE_ROUNDS} rounds, 4 processes)`, async (t) => {
  const dir = tempDir(t)
  const { folder, name } = await recordOf(dir, 'k')
  const lock = join(folder, `.${name}.lock`)
  const [kind, owner] = await deadLock(t, dir, 'k', compiled(LOOPER), lock)
  t.comment(`the lock a killed writer left: ${kind}`)
  // Each contender puts that dead lock back before each write, so every write races the others
  // to break it and take the key.
  const contenders = await Promise.all(Array.from({ length: 4 }, async () => {
    const child = spawn(process.execPath, [compiled(CONTENDER), dir, 'k', String(RACE_ROUNDS), lock, kind, owner], { stdio: ['ignore', 'pipe', 'inherit'], env: CHILD_ENV })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    const [code] = await once(child, 'exit') as [number | null]
    return { code, output: output.trim() }
  }))
  for (const [i, { code, output }] of contenders.entries()) {
    t.equal(code, 0, `contender ${i} ran to the end`)
    t.equal(output, '0', `contender ${i}: no write failed`)
  }
})

test('an expired record is removed only under its lock: a read or a sweep while a writer holds it leaves the record to that writer', async (t) => {
  const dir = tempDir(t)
  const clock = fakeClock(t)
  const { folder, name } = await recordOf(dir, 'k')
  const storage = directoryStorage(dir, { sweepInterval: 0 })
  t.teardown(() => storage.close())
  await storage.write('k', 'old', clock.now + 1000)
  clock.advance(1000)
  // A writer of the same key (here this process, as another would) holds the lock and is about to
  // rename its fresh record over the expired one.
  const held = await acquireLock(folder, name, makeFolder)
  t.equal(await storage.sweep(), 0, 'a sweep removes nothing under the writer')
  t.ok(exists(join(folder, name)))
  t.equal(await storage.read('k'), null, 'the expired record reads as absent')
  t.ok(exists(join(folder, name)), 'and the read did not remove it either')
  writeFileSync(join(folder, 'fresh.tmp'), encodeRecord('fresh', clock.now + 1000))
  renameSync(join(folder, 'fresh.tmp'), join(folder, name))
  await releaseLock(held)
  t.equal(await storage.read('k'), 'fresh', "the writer's record is there")
  clock.advance(1000)
  t.equal(await storage.read('k'), null)
  t.notOk(exists(join(folder, name)), 'once the lock is free, an expired record is removed by the read')
})
