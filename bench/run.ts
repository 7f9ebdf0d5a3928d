// `npm run bench`: every scenario's server in its own process, loaded by autocannon from another
// process, the two pinned to different cores with taskset when the machine has two or more.
// Warm-up first, then interleaved rounds (the order rotates each round); each round measures bare
// Fastify too, and every ratio is taken against the bare figure of its own round.
//
//   node build/bench/run.js            the full run; prints the table and writes bench/results.md
//   node build/bench/run.js --smoke    one very short round of a few scenarios, checking that each
//                                     server answers 200 with the expected session behaviour
//
// Settings (environment): BENCH_ROUNDS (7), BENCH_DURATION (seconds per measurement, 2),
// BENCH_WARMUP (seconds, 3), BENCH_CONNECTIONS (10), BENCH_PIPELINING (1),
// BENCH_ONLY (scenario ids, comma-separated).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { createConnection, createServer } from 'node:net'
import { availableParallelism, cpus, tmpdir } from 'node:os'
import { fileURLToPath } from 'node:url'
import { extname, join } from 'node:path'
import type { LoadRequest, LoadResult } from './load.js'
import { scenarios, type Scenario } from './scenarios.js'

const HERE = new URL('.', import.meta.url)
// Children run the same flavour as this file: build/bench/*.js, or bench/*.ts under a loader (tap).
const EXT = extname(fileURLToPath(import.meta.url))
const ROOT = new URL(EXT === '.js' ? '../../' : '../', import.meta.url)
const RESULTS = fileURLToPath(new URL('bench/results.md', ROOT))
const START = '<!-- bench:start (written by npm run bench) -->'
const END = '<!-- bench:end -->'

// Sessions per scenario, used in turn by the load: a browser's requests rarely run concurrently
// on one session, and concurrent writes to one server-side session are retried conflicts.
const SESSIONS = 100

const SMOKE_IDS = ['bare', 'none', 'mac-read', 'mac-counter', 'memory-counter', 'handwritten-counter', 'secure-session-counter']

interface Settings {
  rounds: number
  duration: number
  warmup: number
  connections: number
  pipelining: number
  only: readonly string[] | null
}

function number (name: string, fallback: number): number {
  const value = process.env[name]
  if (value === undefined || value === '') return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number`)
  return n
}

function settings (): Settings {
  const only = process.env['BENCH_ONLY']
  return {
    rounds: Math.round(number('BENCH_ROUNDS', 7)),
    duration: number('BENCH_DURATION', 2),
    warmup: number('BENCH_WARMUP', 3),
    connections: Math.round(number('BENCH_CONNECTIONS', 10)),
    pipelining: Math.round(number('BENCH_PIPELINING', 1)),
    only: only === undefined || only === '' ? null : only.split(',').map((s) => s.trim()),
  }
}

// Cores: the servers on one, the load generator (and redis-server) on another.
interface Pinning { server: string | null, load: string | null }

function pinning (): Pinning {
  if (availableParallelism() < 2) return { server: null, load: null }
  const probe = spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' })
  if (probe.status !== 0) return { server: null, load: null }
  return { server: '0', load: '1' }
}

function pinned (core: string | null, command: string, args: readonly string[]): [string, string[]] {
  return core === null ? [command, [...args]] : ['taskset', ['-c', core, command, ...args]]
}

// The flags of this process that children need too (a TypeScript loader under tap), minus tap's
// coverage and mocking hooks.
function nodeFlags (): string[] {
  return process.execArgv.filter((flag) => !/processinfo|@tapjs\/mock/.test(flag))
}

async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

function onPath (command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0
}

async function ping (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write('PING\r\n'))
    socket.setTimeout(500)
    socket.once('data', (data) => { socket.destroy(); resolve(data.toString().startsWith('+PONG')) })
    socket.once('error', () => resolve(false))
    socket.once('timeout', () => { socket.destroy(); resolve(false) })
  })
}

const children = new Set<ChildProcess>()

function track (child: ChildProcess): ChildProcess {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

function stopAll (): void {
  for (const child of children) child.kill('SIGTERM')
}

async function startRedis (core: string | null): Promise<number> {
  const port = await freePort()
  const [command, args] = pinned(core, 'redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning',
  ])
  const child = track(spawn(command, args, { stdio: 'ignore' }))
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break
    if (await ping(port)) return port
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error('redis-server did not start')
}

interface Server { scenario: Scenario, port: number, cookie: string, cookies: string[], child: ChildProcess }

async function startServer (scenario: Scenario, core: string | null, env: object, sessions: number): Promise<Server | string> {
  const script = fileURLToPath(new URL('server' + EXT, HERE))
  const [command, args] = pinned(core, process.execPath, [...nodeFlags(), script, scenario.id])
  const child = track(spawn(command, args, {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, BENCH_ENV: JSON.stringify(env) },
  }))
  const line = await new Promise<string>((resolve, reject) => {
    let buffered = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      const newline = buffered.indexOf('\n')
      if (newline >= 0) resolve(buffered.slice(0, newline))
    })
    child.once('exit', (code) => reject(new Error(`the ${scenario.id} server exited (${code}) before listening`)))
  })
  const ready = JSON.parse(line) as { port?: number, unavailable?: string }
  if (ready.unavailable !== undefined) return ready.unavailable
  const port = ready.port as number
  const cookies: string[] = []
  if (scenario.kind !== 'none') for (let i = 0; i < sessions; i++) cookies.push(await prime(port))
  const cookie = cookies[0] ?? ''
  await check(scenario, port, cookie)
  return { scenario, port, cookie, cookies, child }
}

// A valid session cookie, from the scenario's own /prime route.
async function prime (port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/prime`)
  if (response.status !== 200) throw new Error(`/prime answered ${response.status}`)
  const cookies = response.headers.getSetCookie().map((line) => line.split(';', 1)[0] as string)
  if (cookies.length === 0) throw new Error('/prime set no cookie')
  return cookies.join('; ')
}

// The server process's CPU time so far, in microseconds.
async function cpuTime (server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.child.once('message', (message: { cpu: NodeJS.CpuUsage }) => resolve(message.cpu.user + message.cpu.system))
    server.child.send('cpu')
  })
}

interface Measured extends LoadResult {
  /** Server CPU microseconds per request. */
  cpu: number
}

async function measure (loader: Loader, server: Server, duration: number, connections: number, pipelining = 1): Promise<Measured> {
  const before = await cpuTime(server)
  const result = await loader.run(request(server, duration, connections, pipelining))
  const after = await cpuTime(server)
  return { ...result, cpu: (after - before) / Math.max(1, result.total) }
}

function headers (cookie: string): Record<string, string> {
  return cookie === '' ? {} : { cookie }
}

// The behaviour each kind of scenario must show before it is measured.
// After load, a server-side counter has moved on from 1.
async function check (scenario: Scenario, port: number, cookie: string, loaded = false): Promise<void> {
  const fail = (what: string): never => { throw new Error(`${scenario.id}: ${what}`) }
  const response = await fetch(`http://127.0.0.1:${port}/`, { headers: headers(cookie) })
  if (response.status !== 200) fail(`answered ${response.status}`)
  const body = await response.json() as { count: number | null }
  const setCookie = response.headers.getSetCookie()
  const expected = scenario.kind === 'counter' ? 1 : 0
  const count = body.count ?? -1
  if (loaded && scenario.kind === 'counter' ? count < 1 : count !== expected) fail(`expected count ${expected}, got ${JSON.stringify(body)}`)
  if (scenario.ours) {
    if (scenario.kind === 'counter' && setCookie.length !== (scenario.cookies ?? 1)) fail(`a counter must send ${scenario.cookies ?? 1} Set-Cookie`)
    if (scenario.kind !== 'counter' && setCookie.length !== 0) fail('a read must send no Set-Cookie')
  }
}

interface Loader { run (request: LoadRequest): Promise<LoadResult> }

function startLoader (core: string | null): Loader {
  const script = fileURLToPath(new URL('load' + EXT, HERE))
  const [command, args] = pinned(core, process.execPath, [...nodeFlags(), script])
  const child = track(spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
  return {
    run (request) {
      return new Promise((resolve, reject) => {
        child.once('message', (message: { result?: LoadResult, error?: string }) => {
          if (message.result !== undefined) resolve(message.result)
          else reject(new Error(message.error))
        })
        child.send(request)
      })
    },
  }
}

function median (values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] as number : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

interface Row { scenario: Scenario, rps: number, p99: number, ratio: number, cpu: number, cpuRatio: number, failures: number }

interface Target { label: string, actual: number, goal: number }

function targets (rows: readonly Row[], byCpu = false): Target[] {
  const ratio = (id: string): number | undefined => {
    const row = rows.find((r) => r.scenario.id === id)
    return row === undefined ? undefined : byCpu ? row.cpuRatio : row.ratio
  }
  const list: Target[] = []
  const add = (label: string, actual: number | undefined, goal: number): void => {
    if (actual !== undefined && Number.isFinite(actual)) list.push({ label, actual, goal })
  }
  const over = (a: string, b: string | readonly string[]): number | undefined => {
    const mine = ratio(a)
    const peers = (Array.isArray(b) ? b : [b]).map(ratio).filter((x): x is number => x !== undefined)
    return mine === undefined || peers.length === 0 ? undefined : mine / Math.max(...peers)
  }
  add('no session / bare', ratio('none'), 0.95)
  add('messageAuthentication read / bare', ratio('mac-read'), 0.65)
  add('messageAuthentication counter / bare', ratio('mac-counter'), 0.5)
  add('messageAuthentication counter / secure-session counter', over('mac-counter', 'secure-session-counter'), 1.5)
  add('encrypt counter / bare', ratio('encrypt-counter'), 0.35)
  add('encrypt counter / secure-session counter', over('encrypt-counter', 'secure-session-counter'), 1.1)
  add('memoryStorage counter / bare', ratio('memory-counter'), 0.55)
  add('memoryStorage counter / @fastify/session memory counter', over('memory-counter', 'session-memory-counter'), 2.5)
  add('redisStorage counter / faster @fastify/session + connect-redis counter', over('redis-counter', ['session-redis7-counter', 'session-redis9-counter']), 2)
  return list
}

// The hand-written counters (no plugin) are the floors every session library adds to.
function scale (rows: readonly Row[]): string {
  const row = (id: string): Row | undefined => rows.find((r) => r.scenario.id === id)
  const sentence = (floorId: string, floorLabel: string, ids: readonly string[]): string[] => {
    const floor = row(floorId)
    if (floor === undefined || floor.failures > 0) return []
    const parts = ids.flatMap((id) => {
      const r = row(id)
      return r === undefined ? [] : [`${r.scenario.label} ${(r.ratio / floor.ratio).toFixed(2)}x it (${(r.cpuRatio / floor.cpuRatio).toFixed(2)}x by CPU)`]
    })
    return [`the ${floorLabel} with no plugin runs at ${floor.ratio.toFixed(2)}x bare` + (parts.length === 0 ? '' : '; ' + parts.join('; '))]
  }
  const sentences = [
    ...sentence('handwritten-counter', 'hand-written HMAC cookie counter', ['mac-counter', 'secure-session-counter']),
    ...sentence('handwritten-redis-counter', 'hand-written Redis counter', ['redis-counter', 'session-redis7-counter', 'session-redis9-counter']),
  ]
  return sentences.length === 0 ? '' : `For scale: ${sentences.join('. And ')}.\n\n`
}

function table (rows: readonly Row[]): string {
  const lines = [
    '| scenario | req/s (median) | p99 ms (autocannon: whole ms) | x bare | server CPU µs/req | x bare by CPU |',
    '|---|---:|---:|---:|---:|---:|',
  ]
  for (const row of rows) {
    const flag = row.failures > 0 ? ` (${row.failures} non-2xx/errors)` : ''
    lines.push(`| ${row.scenario.label}${flag} | ${Math.round(row.rps)} | ${row.p99.toFixed(0)} | ${row.ratio.toFixed(2)} | ` +
      `${row.cpu.toFixed(1)} | ${row.cpuRatio.toFixed(2)} |`)
  }
  return lines.join('\n')
}

function targetTable (list: readonly Target[], byCpu: readonly Target[]): string {
  const lines = ['| target | measured (req/s) | by server CPU | must reach | |', '|---|---:|---:|---:|---|']
  list.forEach((t, i) => {
    const cpu = byCpu[i]?.actual.toFixed(2) ?? ''
    lines.push(`| ${t.label} | ${t.actual.toFixed(2)} | ${cpu} | ${t.goal.toFixed(2)} | ${t.actual >= t.goal ? 'met' : '**not met**'} |`)
  })
  return lines.join('\n')
}

function machine (pins: Pinning, s: Settings): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  const pin = pins.server === null ? 'not pinned' : `servers on core ${pins.server}, autocannon and redis-server on core ${pins.load}`
  return `Machine: ${availableParallelism()} cores (${cpu}), Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; ${pin}.\n` +
    `Method: autocannon, ${s.connections} connections, ${s.pipelining === 1 ? 'no pipelining' : `pipelining ${s.pipelining}`}; ${s.warmup} s warm-up per scenario, then ` +
    `${s.rounds} interleaved rounds of ${s.duration} s each; medians over the rounds, each ratio against bare Fastify in the same round. ` +
    '"x bare by CPU" is bare Fastify\'s server CPU time per request over the scenario\'s: the same ratio, steadier when other processes share the machine.'
}

async function memoryFigure (): Promise<string | null> {
  const script = fileURLToPath(new URL('memory' + EXT, HERE))
  const result = spawnSync(process.execPath, ['--expose-gc', ...nodeFlags(), script], { encoding: 'utf8' })
  if (result.status !== 0) {
    process.stderr.write(result.stderr)
    return null
  }
  return result.stdout.trim()
}

function writeResults (section: string): void {
  const block = START + '\n' + section + '\n' + END
  let text = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '# Benchmark results\n\n' + START + '\n' + END + '\n'
  const a = text.indexOf(START)
  const b = text.indexOf(END)
  text = a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + END.length) : text + '\n' + block + '\n'
  writeFileSync(RESULTS, text)
}

export interface SmokeReport { checked: string[], skipped: string[] }

async function setup (ids: readonly string[] | null, pins: Pinning, log: (line: string) => void, sessions = SESSIONS): Promise<{ servers: Server[], skipped: string[], dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'fastify-sessions-bench-'))
  const chosen = scenarios.filter((s) => ids === null || ids.includes(s.id))
  const skipped: string[] = []
  let redisPort: number | undefined
  if (chosen.some((s) => s.redis === true)) {
    if (onPath('redis-server')) redisPort = await startRedis(pins.load)
    else log('notice: redis-server is not on PATH; the Redis scenarios are skipped')
  }
  const env = { redisPort, tmpdir: dir }
  const runnable = chosen.filter((s) => s.redis !== true || redisPort !== undefined)
  for (const s of chosen) if (!runnable.includes(s)) skipped.push(s.id)
  // Started side by side: most of a server's start-up is loading modules.
  const started = await Promise.all(runnable.map((scenario) => startServer(scenario, pins.server, env, sessions)))
  const servers: Server[] = []
  started.forEach((server, i) => {
    const id = (runnable[i] as Scenario).id
    if (typeof server !== 'string') return servers.push(server)
    log(`notice: ${id} skipped: ${server}`)
    skipped.push(id)
  })
  return { servers, skipped, dir }
}

function request (server: Server, duration: number, connections: number, pipelining = 1): LoadRequest {
  return { url: `http://127.0.0.1:${server.port}/`, cookies: server.cookies, duration, connections, pipelining }
}

/** One very short round of a few scenarios: each answers 200 with the expected session behaviour. */
export async function smoke (log: (line: string) => void = () => {}): Promise<SmokeReport> {
  // Not pinned: it checks behaviour, and starts faster spread over every core.
  const pins: Pinning = { server: null, load: null }
  const { servers, skipped, dir } = await setup(SMOKE_IDS, pins, log, 2)
  try {
    const loader = startLoader(pins.load)
    for (const server of servers) {
      const result = await measure(loader, server, 0.2, 2)
      if (result.non2xx > 0 || result.errors > 0 || result.rps <= 0) {
        throw new Error(`${server.scenario.id}: ${result.non2xx} non-2xx, ${result.errors} errors under load`)
      }
      // Still the expected behaviour after the load (server-side counters have moved on).
      await check(server.scenario, server.port, server.cookie, true)
    }
    return { checked: servers.map((s) => s.scenario.id), skipped }
  } finally {
    stopAll()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function main (): Promise<void> {
  const s = settings()
  const pins = pinning()
  const log = (line: string): void => { process.stderr.write(line + '\n') }
  const ids = s.only === null ? null : [...new Set(['bare', ...s.only])]
  const { servers, skipped, dir } = await setup(ids, pins, log)
  try {
    const loader = startLoader(pins.load)
    log(`warm-up: ${servers.length} scenarios, ${s.warmup} s each`)
    for (const server of servers) await loader.run(request(server, s.warmup, s.connections, s.pipelining))
    const results = new Map<string, Array<{ rps: number, p99: number, ratio: number, cpu: number, cpuRatio: number, failures: number }>>()
    for (let round = 0; round < s.rounds; round++) {
      // Rotate the order, so no scenario always runs right after the same one.
      const order = servers.map((_, i) => servers[(i + round) % servers.length] as Server)
      const measured = new Map<string, Measured>()
      for (const server of order) measured.set(server.scenario.id, await measure(loader, server, s.duration, s.connections, s.pipelining))
      const bare = measured.get('bare') ?? { rps: NaN, cpu: NaN }
      for (const [id, r] of measured) {
        const list = results.get(id) ?? []
        list.push({ rps: r.rps, p99: r.p99, ratio: r.rps / bare.rps, cpu: r.cpu, cpuRatio: bare.cpu / r.cpu, failures: r.non2xx + r.errors })
        results.set(id, list)
      }
      log(`round ${round + 1}/${s.rounds}: ` + [...measured].map(([id, r]) => `${id} ${Math.round(r.rps)}`).join(', '))
    }
    const rows: Row[] = servers.map((server) => {
      const list = results.get(server.scenario.id) ?? []
      return {
        scenario: server.scenario,
        rps: median(list.map((x) => x.rps)),
        p99: median(list.map((x) => x.p99)),
        ratio: median(list.map((x) => x.ratio)),
        cpu: median(list.map((x) => x.cpu)),
        cpuRatio: median(list.map((x) => x.cpuRatio)),
        failures: list.reduce((n, x) => n + x.failures, 0),
      }
    })
    stopAll()
    const memory = s.only === null || s.only.includes('memory') ? await memoryFigure() : null
    const skippedNote = skipped.length === 0 ? '' : `\nSkipped: ${skipped.join(', ')}.\n`
    const section = machine(pins, s) + '\n\n' + table(rows) + '\n' + skippedNote + '\n' +
      (memory === null ? '' : memory + '\n\n') + scale(rows) + targetTable(targets(rows), targets(rows, true))
    process.stdout.write(section + '\n')
    if (s.only === null) writeResults(section)
  } finally {
    stopAll()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const run = process.argv.includes('--smoke')
    ? smoke((line) => process.stderr.write(line + '\n')).then((report) => {
      process.stdout.write(`smoke: ok (${report.checked.join(', ')})` + (report.skipped.length > 0 ? `; skipped ${report.skipped.join(', ')}` : '') + '\n')
    })
    : main()
  run.catch((error: unknown) => {
    stopAll()
    process.stderr.write(String((error as Error).stack ?? error) + '\n')
    process.exitCode = 1
  })
}
