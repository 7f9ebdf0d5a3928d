// `npm run bench`: every scenario's server in its own process, loaded by autocannon from another
// process, the two pinned to different cores with taskset when the machine has two or more.
// Warm-up first, then interleaved rounds (the order rotates each round); each round measures bare
// Fastify too, and every ratio is taken against the bare figure of its own round.
//
//   node build/bench/run.js            the full run; prints the table and writes bench/results.md
//   node build/bench/run.js --smoke    one very short round of a few scenarios, checking that each
//                                     server answers 200 with the expected session behaviour
//
// Settings (environment): BENCH_ROUNDS (5), BENCH_DURATION (seconds per measurement, 2),
// BENCH_WARMUP (seconds, 1), BENCH_COLD (requests per round of a cold scenario, 15 000),
// BENCH_CONNECTIONS (10), BENCH_PIPELINING (1), BENCH_ONLY (scenario ids, comma-separated; bare
// and each chosen scenario's base and comparisons join them), BENCH_PROFILE (a directory: each
// server profiles its CPU from the end of the warm-up and writes <scenario id>.cpuprofile there
// when it stops; read them with `node build/bench/profile.js <dir>`). A run with BENCH_ONLY or
// BENCH_PROFILE prints its table but never rewrites bench/results.md (a profiled server runs slower).
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
  cold: number
  connections: number
  pipelining: number
  only: readonly string[] | null
  /** BENCH_PROFILE is set: the servers profile their measured rounds (server.ts writes the files). */
  profiling: boolean
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
    rounds: Math.round(number('BENCH_ROUNDS', 5)),
    duration: number('BENCH_DURATION', 2),
    warmup: number('BENCH_WARMUP', 1),
    cold: Math.round(number('BENCH_COLD', 15_000)),
    connections: Math.round(number('BENCH_CONNECTIONS', 10)),
    pipelining: Math.round(number('BENCH_PIPELINING', 1)),
    only: only === undefined || only === '' ? null : only.split(',').map((s) => s.trim()),
    profiling: (process.env['BENCH_PROFILE'] ?? '') !== '',
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
  let response = await fetch(`http://127.0.0.1:${port}/prime`)
  // A 503 is a storage that timed out while the machine was busy starting servers: asked again.
  for (let retry = 0; response.status === 503 && retry < 5; retry++) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    response = await fetch(`http://127.0.0.1:${port}/prime`)
  }
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
  return measureWith(loader, server, request(server, duration, connections, pipelining))
}

async function measureWith (loader: Loader, server: Server, load: LoadRequest): Promise<Measured> {
  const before = await cpuTime(server)
  const result = await loader.run(load)
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

interface Sample { rps: number, p99: number, ratio: number, cpu: number, added: number, failures: number }

interface Row { scenario: Scenario, rps: number, p99: number, ratio: number, cpu: number, added: number, failures: number }

interface Target { label: string, ours: number, theirs: number, actual: number, goal: number, share: boolean, met: boolean }

const byId = (rows: readonly Row[], id: string): Row | undefined => rows.find((r) => r.scenario.id === id)

// The target table, driven by each scenario's goals: ratios of added costs (theirs over ours), or
// an added cost as a share of its base's whole cost.
function targets (rows: readonly Row[]): Target[] {
  const list: Target[] = []
  for (const row of rows) {
    for (const goal of row.scenario.goals ?? []) {
      if ('bareShare' in goal) {
        const base = byId(rows, row.scenario.base ?? 'bare')
        if (base === undefined) continue
        const actual = row.added / base.cpu
        list.push({ label: goal.label, ours: row.added, theirs: base.cpu, actual, goal: goal.bareShare, share: true, met: actual <= goal.bareShare })
        continue
      }
      const others = (typeof goal.against === 'string' ? [goal.against] : goal.against)
        .map((id) => byId(rows, id)).filter((r): r is Row => r !== undefined)
      if (others.length === 0) continue
      const theirs = Math.min(...others.map((r) => r.added))
      const actual = theirs / row.added
      list.push({ label: goal.label, ours: row.added, theirs, actual, goal: goal.atLeast, share: false, met: row.added <= 0 || actual >= goal.atLeast })
    }
  }
  return list
}

function table (rows: readonly Row[]): string {
  const lines = [
    '| scenario | added µs/req (server CPU beyond its base) | server CPU µs/req | req/s (median) | x base by req/s | p99 ms |',
    '|---|---:|---:|---:|---:|---:|',
  ]
  for (const row of rows) {
    const flag = row.failures > 0 ? ` (${row.failures} non-2xx/errors)` : ''
    const base = row.scenario.base ?? 'bare'
    const added = row.scenario.id === base || (row.scenario.id === 'bare') ? 'base' : row.added.toFixed(1) + (base === 'bare' ? '' : ` (over ${base})`)
    lines.push(`| ${row.scenario.label}${flag} | ${added} | ${row.cpu.toFixed(1)} | ${Math.round(row.rps)} | ${row.ratio.toFixed(2)} | ${row.p99.toFixed(0)} |`)
  }
  return lines.join('\n')
}

function targetTable (list: readonly Target[]): string {
  const lines = ['| target | ours: added µs | theirs: added µs | measured | must reach | |', '|---|---:|---:|---:|---:|---|']
  for (const t of list) {
    const measured = t.share ? `${(t.actual * 100).toFixed(1)}% of ${t.theirs.toFixed(1)} µs` : `${t.actual.toFixed(2)}x`
    const goal = t.share ? `<= ${(t.goal * 100).toFixed(0)}%` : `>= ${t.goal.toFixed(2)}x`
    lines.push(`| ${t.label} | ${t.ours.toFixed(1)} | ${t.share ? '' : t.theirs.toFixed(1)} | ${measured} | ${goal} | ${t.met ? 'met' : '**not met**'} |`)
  }
  return lines.join('\n')
}

function machine (pins: Pinning, s: Settings): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  const pin = pins.server === null ? 'not pinned' : `servers on core ${pins.server}, autocannon and redis-server on core ${pins.load}`
  return `Machine: ${availableParallelism()} cores (${cpu}), Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; ${pin}.\n` +
    `Method: autocannon, ${s.connections} connections, ${s.pipelining === 1 ? 'no pipelining' : `pipelining ${s.pipelining}`}; ${s.warmup} s warm-up per scenario, then ` +
    `${s.rounds} interleaved rounds of ${s.duration} s each (cold scenarios: ${s.cold} requests a round, one fresh cookie each); medians over the rounds. ` +
    '"added µs/req" is the server CPU time per request beyond its base (bare Fastify, or the bare real route) measured in the same round: what a session costs a request. ' +
    'Targets are ratios of added costs (theirs over ours).'
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

async function setup (ids: readonly string[] | null, pins: Pinning, log: (line: string) => void, sessions = SESSIONS): Promise<{ servers: Server[], skipped: string[], dir: string, env: object }> {
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
  // Started four at a time: most of a server's start-up is loading modules, but thirty at once on
  // one core starve each other's connections to Redis past the storage's timeout.
  const started: Array<Server | string> = []
  for (let i = 0; i < runnable.length; i += 4) {
    started.push(...await Promise.all(runnable.slice(i, i + 4).map((scenario) => startServer(scenario, pins.server, env, sessions))))
  }
  const servers: Server[] = []
  started.forEach((server, i) => {
    const id = (runnable[i] as Scenario).id
    if (typeof server !== 'string') return servers.push(server)
    log(`notice: ${id} skipped: ${server}`)
    skipped.push(id)
  })
  return { servers, skipped, dir, env }
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

// A cold scenario's cookies: minted by another process of the same scenario, `rounds` pools of
// `count`, so the measured server has never seen one and each is used once.
async function mintCold (scenario: Scenario, env: object, rounds: number, count: number): Promise<string[][]> {
  const script = fileURLToPath(new URL('server' + EXT, HERE))
  const child = track(spawn(process.execPath, [...nodeFlags(), script, scenario.id], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, BENCH_ENV: JSON.stringify(env) },
  }))
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve())
    child.once('exit', (code) => reject(new Error(`the ${scenario.id} minter exited (${code})`)))
  })
  const cookies = await new Promise<string[]>((resolve) => {
    child.once('message', (message: { cookies: string[] }) => resolve(message.cookies))
    child.send({ mint: rounds * count })
  })
  child.kill('SIGTERM')
  return Array.from({ length: rounds }, (_, i) => cookies.slice(i * count, (i + 1) * count))
}

// Bare, and the base and comparisons of every chosen scenario, join a partial run.
function withRelated (only: readonly string[]): string[] {
  const ids = new Set(['bare', ...only])
  for (const s of scenarios) {
    if (!ids.has(s.id)) continue
    if (s.base !== undefined) ids.add(s.base)
    for (const goal of s.goals ?? []) if ('against' in goal) for (const id of typeof goal.against === 'string' ? [goal.against] : goal.against) ids.add(id)
  }
  return [...ids]
}

function summarize (servers: readonly Server[], results: ReadonlyMap<string, Sample[]>): Row[] {
  return servers.map((server) => {
    const list = results.get(server.scenario.id) ?? []
    const mid = (pick: (x: Sample) => number): number => median(list.map(pick))
    return {
      scenario: server.scenario,
      rps: mid((x) => x.rps),
      p99: mid((x) => x.p99),
      ratio: mid((x) => x.ratio),
      cpu: mid((x) => x.cpu),
      added: mid((x) => x.added),
      failures: list.reduce((n, x) => n + x.failures, 0),
    }
  })
}

async function rounds (servers: readonly Server[], loader: Loader, s: Settings, cold: ReadonlyMap<string, string[][]>, log: (line: string) => void): Promise<Map<string, Sample[]>> {
  const results = new Map<string, Sample[]>()
  for (let round = 0; round < s.rounds; round++) {
    // Rotate the order, so no scenario always runs right after the same one.
    const order = servers.map((_, i) => servers[(i + round) % servers.length] as Server)
    const measured = new Map<string, Measured>()
    for (const server of order) {
      const pool = cold.get(server.scenario.id)?.[round]
      const req = request(server, s.duration, s.connections, s.pipelining)
      const load = pool === undefined ? req : { ...req, cookies: pool, amount: pool.length }
      measured.set(server.scenario.id, await measureWith(loader, server, load))
    }
    for (const server of servers) {
      const r = measured.get(server.scenario.id) as Measured
      const base = measured.get(server.scenario.base ?? 'bare') ?? { rps: NaN, cpu: NaN }
      const list = results.get(server.scenario.id) ?? []
      list.push({ rps: r.rps, p99: r.p99, ratio: r.rps / base.rps, cpu: r.cpu, added: r.cpu - base.cpu, failures: r.non2xx + r.errors })
      results.set(server.scenario.id, list)
    }
    const bare = measured.get('bare')
    log(`round ${round + 1}/${s.rounds} (bare ${bare?.cpu.toFixed(1)} µs/req, ${Math.round(bare?.rps ?? 0)} req/s): ` +
      servers.map((server) => `${server.scenario.id} +${(results.get(server.scenario.id)?.[round]?.added ?? NaN).toFixed(1)}`).join(', '))
  }
  return results
}

async function main (): Promise<void> {
  const s = settings()
  const pins = pinning()
  const log = (line: string): void => { process.stderr.write(line + '\n') }
  const started = Date.now()
  const ids = s.only === null ? null : withRelated(s.only)
  const { servers, skipped, dir, env } = await setup(ids, pins, log)
  try {
    const loader = startLoader(pins.load)
    // The cold scenarios' cookies are minted by other processes during the warm-up, which is not measured.
    const coldServers = servers.filter((server) => server.scenario.cold === true)
    if (coldServers.length > 0) log(`minting ${s.rounds} x ${s.cold} cookies for ${coldServers.map((x) => x.scenario.id).join(', ')}`)
    const minting = Promise.all(coldServers.map((server) => mintCold(server.scenario, env, s.rounds, s.cold)))
    log(`warm-up: ${servers.length} scenarios, ${s.warmup} s each`)
    for (const server of servers) await loader.run(request(server, s.warmup, s.connections, s.pipelining))
    const pools = await minting
    if (s.profiling) for (const server of servers) server.child.send('profile')
    const cold = new Map(coldServers.map((server, i) => [server.scenario.id, pools[i] as string[][]]))
    const rows = summarize(servers, await rounds(servers, loader, s, cold, log))
    stopAll()
    const memory = s.only === null || s.only.includes('memory') ? await memoryFigure() : null
    const skippedNote = skipped.length === 0 ? '' : `\nSkipped: ${skipped.join(', ')}.\n`
    const bare = byId(rows, 'bare')
    const took = `The whole run took ${((Date.now() - started) / 60_000).toFixed(1)} min; bare Fastify cost ${bare?.cpu.toFixed(1)} µs of server CPU per request (${Math.round(bare?.rps ?? 0)} req/s).`
    const section = machine(pins, s) + '\n' + took + '\n\n' + table(rows) + '\n' + skippedNote + '\n' +
      (memory === null ? '' : memory + '\n\n') + targetTable(targets(rows))
    process.stdout.write(section + '\n')
    if (s.only === null && !s.profiling) writeResults(section)
  } finally {
    stopAll()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  // Stopped by hand: the servers and the load generator end with their parent's IPC channel, but
  // redis-server has none.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => { stopAll(); process.exit(130) })
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
