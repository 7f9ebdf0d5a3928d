import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { test } from 'tap'
import { directoryStorage } from '../storages/directory.js'
import { compileFixtures } from './helpers/compile.js'
import { untracedEnv } from './helpers/child-env.js'

const WRITER = fileURLToPath(new URL('./fixtures/directory-writer.ts', import.meta.url))
// A few seconds in the normal suite. The long variant, best run beside a CPU-heavy job (that is
// when locks and kills interleave): CRASH_ROUNDS=200 npx tap --timeout=3600 test/storage-directory-crash.test.ts
const ROUNDS = Math.max(1, Math.floor(Number(process.env['CRASH_ROUNDS'] ?? 12)) || 12)
const LANES = 3
const KEYS = 16
const CHILD_ENV = untracedEnv()
const HEADER = /^FSS1 (-{16}|\d{16}) (\d{10})\n/

function isWhole (value: string): boolean {
  const first = value.indexOf(':')
  const second = value.indexOf(':', first + 1)
  const body = value.slice(second + 1)
  return first > 0 && Number(value.slice(0, first)) === body.length &&
    createHash('sha256').update(body).digest('hex') === value.slice(first + 1, second)
}

function files (dir: string): string[] {
  for (let attempt = 0; ; attempt++) {
    try {
      return readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile() || entry.isSymbolicLink())
        .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
    } catch (err) {
      // A writer of another lane removed a folder it emptied while it was being listed.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === 10) throw err
    }
  }
}

/** The key locks and half-taken locks on disk (folders; symbolic links in earlier versions). */
function locks (dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => /\.(lock|locking)$/.test(entry.name))
    .map((entry) => join(entry.parentPath ?? entry.path, entry.name))
}

// Writers still running when a round fails are killed before the directory is removed.
const children = new Set<ReturnType<typeof spawn>>()

/** Every record file that is not a whole record, with why. */
function tornRecords (dir: string): string[] {
  const torn: string[] = []
  for (const file of files(dir)) {
    const name = file.slice(file.lastIndexOf('/') + 1)
    // Temp files and the lock files of killed writers are not records.
    if (name.endsWith('.tmp') || name.endsWith('.lock')) continue
    let bytes: Buffer
    try {
      bytes = readFileSync(file)
    } catch (err) {
      // Invalidated by a writer of another lane between the listing and the read.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
      throw err
    }
    const header = HEADER.exec(bytes.toString('latin1', 0, 33))
    if (header === null) torn.push(`${name}: no header`)
    else if (bytes.length !== 33 + Number(header[2])) torn.push(`${name}: ${bytes.length - 33} bytes, header says ${header[2]}`)
    else if (!isWhole(bytes.toString('utf8', 33))) torn.push(`${name}: value fails its own check`)
  }
  return torn
}

async function runAndKill (writer: string, dir: string): Promise<{ signal: NodeJS.Signals | null, stderr: string }> {
  // Compiled JavaScript, and without tap's NODE_OPTIONS (its process-info and coverage hooks):
  // the child starts in about a hundred milliseconds.
  const child = spawn(process.execPath, [writer, dir], { stdio: ['ignore', 'pipe', 'pipe'], env: CHILD_ENV })
  children.add(child)
  child.once('exit', () => children.delete(child))
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  let output = ''
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('ready')) resolve()
    })
    exited.then(([code]) => reject(new Error(`writer exited early (${code}): ${stderr}`)), reject)
  })
  await Promise.race([ready, sleep(30_000, undefined, { ref: false }).then(() => { throw new Error('writer never became ready') })])
  // A random moment: early in a write, in an fsync, in a rename, between writes.
  await sleep(Math.random() * 300)
  child.kill('SIGKILL')
  const [, signal] = await exited
  return { signal, stderr }
}

test(`records written by a process killed with SIGKILL at random moments (${ROUNDS} rounds) always read back whole`, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fss-crash-'))
  t.teardown(async () => {
    await Promise.all([...children].map((child) => {
      child.kill('SIGKILL')
      return once(child, 'exit')
    }))
    rmSync(dir, { recursive: true, force: true })
  })
  const writer = (await compileFixtures(t, [WRITER]))(WRITER)
  // Several lanes run at once, so writers of different lanes also share the directory (and its
  // key locks), as processes of one app would.
  let next = 0
  const started = Date.now()
  const lane = async (): Promise<void> => {
    while (next < ROUNDS) {
      const round = next++
      const { signal, stderr } = await runAndKill(writer, dir)
      t.equal(signal, 'SIGKILL', `round ${round}: the writer was killed, not stopped by an error`)
      t.equal(stderr, '', `round ${round}: no write failed before the kill`)
      t.same(tornRecords(dir), [], `round ${round}: every record file on disk is whole`)
    }
  }
  await Promise.all(Array.from({ length: LANES }, lane))
  t.comment(`${ROUNDS} rounds in ${Date.now() - started} ms`)
  t.same(tornRecords(dir), [], 'after the last kill, every record file on disk is whole')

  const storage = directoryStorage(dir, { sweepInterval: 0 })
  t.teardown(() => storage.close())
  let found = 0
  for (let i = 0; i < KEYS; i++) {
    const value = await storage.read(`key ${i}`)
    if (value !== null) {
      found++
      t.ok(isWhole(value), `key ${i} reads back whole`)
    }
  }
  t.ok(found > 0, `${found} records survived the crashes`)

  // Temp files of killed writes are not records; the sweeper removes them once they are stale.
  const temps = files(dir).filter((file) => file.endsWith('.tmp'))
  t.comment(`${temps.length} temp files and ${locks(dir).length} key locks left by killed writes`)
  const old = new Date(Date.now() - 3_600_000)
  // Locks of dead writers are broken at once; temp files once they are old.
  for (const file of temps) utimesSync(file, old, old)
  while (await storage.sweep() > 0);
  t.same(files(dir).filter((file) => file.endsWith('.tmp')), [], 'no temp file is left after a sweep')
  t.same(locks(dir), [], 'nor a lock of a killed writer')
  t.equal(files(dir).length, found, 'one file per surviving record')
})
