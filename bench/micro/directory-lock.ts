// Compare-and-write throughput of directoryStorage, whose key lock is taken for each one: on one key
// (every call waits for the lock of the one before) and on many keys (calls run side by side), from
// one process and from several processes sharing the directory. Anyone can run it:
//   npm run build && node dist/bench/micro/directory-lock.js [seconds per case] [storage module]
// The optional module (a built storages/directory.js, e.g. of another commit) compares versions.
// Prints one line per case: compare-and-writes per second that wrote (won), all of them (on one key
// most lose to a concurrent one, and a loss is decided before the lock), and failures (none expected).
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { DirectoryStorage } from '../../storages/directory.js'

const CALLERS = 8
const KEYS = 1000
const PROCESSES = 3

interface Job { dir: string, keys: number, ms: number, module: string }
type Counts = [won: number, done: number, failed: number]

async function load (module: string): Promise<(dir: string) => DirectoryStorage> {
  const { directoryStorage } = await import(pathToFileURL(resolve(module)).href) as typeof import('../../storages/directory.js')
  return (dir) => directoryStorage(dir, { sweepInterval: 0 })
}

/** CALLERS concurrent loops of read + compareAndWrite for `ms`; resolves [won, done, failed]. */
async function run ({ dir, keys, ms, module }: Job): Promise<Counts> {
  const storage = (await load(module))(dir)
  const until = performance.now() + ms
  let won = 0
  let done = 0
  let failed = 0
  await Promise.all(Array.from({ length: CALLERS }, async (_, caller) => {
    for (let i = caller; performance.now() < until; i += CALLERS) {
      const key = `key ${i % keys}`
      try {
        if (await storage.compareAndWrite(key, await storage.read(key), `value ${i}`, null)) won++
        done++
      } catch {
        failed++
      }
    }
  }))
  await storage.close()
  return [won, done, failed]
}

async function inProcesses (job: Job, count: number): Promise<Counts> {
  const children = Array.from({ length: count }, () => fork(new URL(import.meta.url), ['--child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
  const results = children.map(async (child) => {
    child.send(job)
    const [result] = await once(child, 'message') as [Counts]
    child.kill()
    return result
  })
  return (await Promise.all(results)).reduce<Counts>(([w, d, f], [w2, d2, f2]) => [w + w2, d + d2, f + f2], [0, 0, 0])
}

if (process.argv.includes('--child')) {
  process.once('message', (job: Job) => { run(job).then((result) => process.send?.(result), (err: unknown) => { throw err }) })
} else {
  const ms = Number(process.argv[2] ?? 5) * 1000
  const module = process.argv[3] ?? new URL('../../storages/directory.js', import.meta.url).pathname
  process.stdout.write(`directoryStorage compareAndWrite, ${module}, ${CALLERS} callers per process, ${ms / 1000} s per case\n`)
  for (const [label, keys, processes] of [['one key, 1 process', 1, 1], [`${KEYS} keys, 1 process`, KEYS, 1], [`one key, ${PROCESSES} processes`, 1, PROCESSES], [`${KEYS} keys, ${PROCESSES} processes`, KEYS, PROCESSES]] as const) {
    const dir = mkdtempSync(join(tmpdir(), 'fss-bench-lock-'))
    const job = { dir, keys, ms, module }
    const [won, done, failed] = processes === 1 ? await run(job) : await inProcesses(job, processes)
    rmSync(dir, { recursive: true, force: true })
    const rate = (count: number): string => Math.round(count / (ms / 1000)).toString().padStart(6)
    process.stdout.write(`${label.padEnd(24)} ${rate(won)} won/s ${rate(done)} calls/s  ${failed} failed\n`)
  }
}
