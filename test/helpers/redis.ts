// Real redis-server processes for the Redis suites: each helper starts its servers on free
// loopback ports in a fresh temporary folder, waits until they answer, and registers a teardown
// that kills them and removes the folder. Nothing here ever flushes a server: a test that needs a
// clean keyspace starts its own server or uses its own prefix.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomInt } from 'node:crypto'
import { readFileSync, rmSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis, Cluster, type RedisOptions } from 'ioredis'

/** The notice of a skipped Redis suite (and the hint of a failed one). */
export const REDIS_MISSING = 'Redis suites skipped: apt-get install redis-server'

/** The part of a tap `Test` these helpers use. */
export interface TestContext {
  teardown (fn: () => unknown): void
  fail (message: string): unknown
  comment (...message: unknown[]): void
}

let available: boolean | undefined

/** Whether `redis-server` (and `redis-cli`, from the same package) can be run. */
export function redisAvailable (): boolean {
  available ??= ['redis-server', 'redis-cli'].every((command) =>
    spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0)
  return available
}

/**
 * What a Redis suite does on this machine: run; or, without redis-server, fail under CI (so CI
 * always runs the suites) and skip elsewhere, with a notice either way.
 */
export function redisVerdict (isAvailable: boolean, env: NodeJS.ProcessEnv): { skip: false } | { skip: string, fail?: string } {
  if (isAvailable) return { skip: false }
  if (env['CI'] !== undefined && env['CI'] !== '' && env['CI'] !== 'false') {
    return {
      skip: REDIS_MISSING,
      fail: 'redis-server is not on PATH and CI is set; the Redis suites must run in CI: apt-get install redis-server',
    }
  }
  return { skip: REDIS_MISSING }
}

/**
 * `false` when the Redis suites can run; otherwise the reason to pass as `{ skip }` to each test,
 * after failing `t` (under CI) or printing a loud notice (elsewhere).
 */
export function redisSkip (t: TestContext): string | false {
  const verdict = redisVerdict(redisAvailable(), process.env)
  if (verdict.skip === false) return false
  if (verdict.fail !== undefined) {
    t.fail(verdict.fail)
  } else {
    t.comment(`!!! ${REDIS_MISSING} !!!`)
    process.stderr.write(`\n!!! ${REDIS_MISSING} !!!\n\n`)
  }
  return verdict.skip
}

// Every process started here, killed if the test process exits without its teardown: on exit,
// or on a signal (a tap timeout, Ctrl-C), which is then raised again with its usual effect.
const running = new Set<ChildProcess>()
const folders = new Set<string>()
function killAll (): void {
  for (const child of running) child.kill('SIGKILL')
  running.clear()
  for (const dir of folders) rmSync(dir, { recursive: true, force: true })
  folders.clear()
}
process.on('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGALRM'] as const) {
  process.once(signal, () => {
    killAll()
    process.kill(process.pid, signal)
  })
}

// Ports are drawn below the kernel's ephemeral range, which no outgoing connection and no
// listen(0) is ever given: a port stays free while its server is down (a restart, a server started
// later on a port chosen before) unless another process picks that very number on purpose.
const FIRST_PORT = 10_000
const BUS_OFFSET = 10_000

function ephemeralLow (): number {
  const range = readSync(() => readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'latin1'))
  const low = Number(/^\s*(\d+)/.exec(range)?.[1])
  return Number.isInteger(low) && low > 0 ? low : 32_768
}

function readSync (read: () => string): string {
  try {
    return read()
  } catch {
    return ''
  }
}

/** A port nobody listens on now (and, with `bus`, whose port + 10000 is free too). */
export async function freePort (bus = false): Promise<number> {
  const end = Math.min(ephemeralLow(), 65_536) - (bus ? BUS_OFFSET : 0)
  for (;;) {
    // An odd ephemeral range with no room below it: any free port, as the kernel gives one.
    const port = end - FIRST_PORT < 1000 ? await listenOnce(0) : FIRST_PORT + randomInt(end - FIRST_PORT)
    if (!await listenOnce(port).then(() => true, () => false)) continue
    if (!bus) return port
    if (port + BUS_OFFSET <= 65535 && await listenOnce(port + BUS_OFFSET).then(() => true, () => false)) return port
  }
}

function listenOnce (port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : port))
    })
  })
}

/** A short-lived admin connection: runs one command and disconnects. */
export async function redisCall (port: number, ...args: Array<string | number>): Promise<unknown> {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2000,
  })
  client.on('error', () => {})
  try {
    await client.connect()
    const [command, ...rest] = args
    return await client.call(String(command), ...rest)
  } finally {
    client.disconnect()
  }
}

/**
 * Polls `check` until it returns a value other than `undefined`, or throws after `ms` (at once for
 * an error `final` says no later poll can change).
 */
export async function waitFor<T> (what: string, check: () => Promise<T | undefined>, ms = 10_000, every = 50, final: (err: unknown) => boolean = () => false): Promise<T> {
  const deadline = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (err) {
      if (final(err)) throw err
      last = err
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}${last === undefined ? '' : `: ${String(last)}`}`)
    }
    await sleep(every)
  }
}

export interface ServerOptions {
  /** Append-only file with fsync on every write, so data survives kill(). */
  appendonly?: boolean
  /** More `--name value` arguments for redis-server. */
  args?: string[]
  /** A config file to write into the folder and start from (Sentinel needs one). */
  config?: (port: number, dir: string) => string
  /** Start in Sentinel mode (needs `config`). */
  sentinel?: boolean
  /** Also keep port + 10000 free (Redis Cluster's bus port). */
  bus?: boolean
  /** A fixed port instead of a free one. */
  port?: number
}

const RESTART_TRIES = 3

class PortTaken extends Error {
  constructor (port: number, by: string) {
    super(`port ${port} is ${by}`)
  }
}

/** One redis-server process, with the controls the outage tests need. */
export class RedisServer {
  readonly host = '127.0.0.1'
  #child: ChildProcess | undefined
  #exited: Promise<void> = Promise.resolve()
  #paused = false
  #clients = new Set<Redis | Cluster>()

  private constructor (readonly port: number, readonly dir: string, private readonly args: string[]) {}

  get url (): string { return `redis://${this.host}:${this.port}` }
  get pid (): number | undefined { return this.#child?.pid }
  get running (): boolean { return this.#child !== undefined }

  /** Starts a server on a free port in a new temporary folder; `t`'s teardown stops it. */
  static async start (t: TestContext, options: ServerOptions = {}): Promise<RedisServer> {
    const dir = await mkdtemp(join(tmpdir(), 'fastify-sessions-redis-'))
    folders.add(dir)
    let lastError: unknown
    // A free port can be taken between the check and redis-server's bind: try a few.
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = options.port ?? await freePort(options.bus === true)
      const args: string[] = []
      if (options.config !== undefined) {
        const file = join(dir, 'redis.conf')
        await writeFile(file, options.config(port, dir))
        args.push(file)
      }
      if (options.sentinel === true) args.push('--sentinel')
      args.push('--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--logfile', join(dir, 'redis.log'),
        '--daemonize', 'no', '--protected-mode', 'no')
      if (options.sentinel !== true) {
        args.push('--save', '')
        if (options.appendonly === true) args.push('--appendonly', 'yes', '--appendfsync', 'always')
        else args.push('--appendonly', 'no')
      }
      args.push(...options.args ?? [])
      const server = new RedisServer(port, dir, args)
      try {
        await server.#launch()
        t.teardown(() => server.stop())
        return server
      } catch (err) {
        lastError = err
        await server.kill()
      }
    }
    await rm(dir, { recursive: true, force: true })
    folders.delete(dir)
    throw lastError
  }

  async #launch (): Promise<void> {
    const child = spawn('redis-server', this.args, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] })
    // What it says before its log file is open (a bad argument) goes to stderr.
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-2000) })
    this.#child = child
    this.#paused = false
    running.add(child)
    let gone = false
    this.#exited = new Promise((resolve) => child.once('exit', () => {
      gone = true
      running.delete(child)
      resolve()
    }))
    child.once('error', () => {})
    // A server that exits at start (a bad argument, its port taken) fails the start at once.
    const exitedAtStart = this.#exited.then(async () => {
      throw new Error(`redis-server on port ${this.port} exited at start (exit code ${child.exitCode ?? child.signalCode}):\n${stderr}${await this.log()}`)
    })
    const answering = waitFor(`redis-server on port ${this.port}`, async () => {
      if (gone) throw new Error('redis-server exited')
      // Ours, by its pid: another suite's server may have taken the port before ours could bind.
      const pid = /process_id:(\d+)/.exec(String(await redisCall(this.port, 'INFO', 'server')))?.[1]
      if (pid !== undefined && Number(pid) !== child.pid) throw new PortTaken(this.port, `another redis-server's (pid ${pid})`)
      return pid === undefined ? undefined : true
    }, 10_000, 20, (err) => gone || err instanceof PortTaken).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await this.log()}`)
    })
    await Promise.race([answering, exitedAtStart])
  }

  /** The tail of the server's log file. */
  async log (): Promise<string> {
    const text = await readFile(join(this.dir, 'redis.log'), 'utf8').catch(() => '')
    return text.split('\n').slice(-15).join('\n')
  }

  /** A hang: the process stops (SIGSTOP); its connections stay open and unanswered. */
  pause (): void {
    this.#child?.kill('SIGSTOP')
    this.#paused = true
  }

  /** The end of a hang (SIGCONT). */
  resume (): void {
    this.#child?.kill('SIGCONT')
    this.#paused = false
  }

  /** A crash: SIGKILL, waiting until the process is gone (its connections are refused from then). */
  async kill (): Promise<void> {
    const child = this.#child
    if (child === undefined) return
    this.#child = undefined
    child.kill('SIGKILL')
    await this.#exited
  }

  /**
   * Starts the server again on the same port and folder (data survives with `appendonly`). The
   * port is below the ephemeral range (freePort), so only a process that picked this very number
   * can have taken it meanwhile: then a few tries, and a failure that says so.
   */
  async restart (): Promise<void> {
    await this.kill()
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#launch()
      } catch (err) {
        await this.kill()
        if (attempt === RESTART_TRIES) {
          throw new Error(`redis-server could not start again on port ${this.port}, which another process took while it was down (${RESTART_TRIES} tries): ${err instanceof Error ? err.message : String(err)}`)
        }
        await sleep(50 * attempt)
      }
    }
  }

  /** A client of this server, disconnected at teardown. */
  client (options: RedisOptions = {}): Redis {
    const client = new Redis({ host: this.host, port: this.port, ...options })
    client.on('error', () => {})
    this.#clients.add(client)
    return client
  }

  /** Runs one command on a fresh admin connection. */
  call (...args: Array<string | number>): Promise<unknown> {
    return redisCall(this.port, ...args)
  }

  /** Keeps `client` to be disconnected when this server stops. */
  track<C extends Redis | Cluster> (client: C): C {
    this.#clients.add(client)
    return client
  }

  /** Kills the process and removes its folder. */
  async stop (): Promise<void> {
    for (const client of this.#clients) client.disconnect()
    this.#clients.clear()
    if (this.#paused) this.resume()
    await this.kill()
    await rm(this.dir, { recursive: true, force: true })
    folders.delete(this.dir)
  }
}

/** Starts a standalone server; stopped in `t`'s teardown. */
export function startRedis (t: TestContext, options: ServerOptions = {}): Promise<RedisServer> {
  return RedisServer.start(t, options)
}

export interface RedisClusterHandle {
  nodes: RedisServer[]
  /** `{ host, port }` of every master, for `new Cluster(...)`. */
  startupNodes: Array<{ host: string, port: number }>
  /** A Cluster client, disconnected at teardown. */
  client (options?: ConstructorParameters<typeof Cluster>[1]): Cluster
}

/** A 3-master Redis Cluster, ready (`cluster_state:ok` on every node); stopped in teardown. */
export async function startCluster (t: TestContext): Promise<RedisClusterHandle> {
  const nodes = await Promise.all([0, 1, 2].map(() => RedisServer.start(t, {
    bus: true,
    args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000'],
  })))
  const create = spawnSync('redis-cli', [
    '--cluster', 'create', ...nodes.map((node) => `${node.host}:${node.port}`), '--cluster-yes',
  ], { encoding: 'utf8', timeout: 30_000 })
  if (create.status !== 0) {
    throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`)
  }
  for (const node of nodes) {
    await waitFor(`cluster_state:ok on port ${node.port}`, async () => {
      const info = String(await node.call('CLUSTER', 'INFO'))
      return info.includes('cluster_state:ok') && info.includes('cluster_known_nodes:3') ? true : undefined
    })
  }
  const startupNodes = nodes.map((node) => ({ host: node.host, port: node.port }))
  return {
    nodes,
    startupNodes,
    client (options) {
      const client = new Cluster(startupNodes, options)
      client.on('error', () => {})
      return (nodes[0] as RedisServer).track(client)
    },
  }
}

export interface RedisSentinelHandle {
  master: RedisServer
  replica: RedisServer
  sentinel: RedisServer
  /** The monitored master's name. */
  name: string
  /** For ioredis's `sentinels` option. */
  sentinels: Array<{ host: string, port: number }>
  /** The port of the master the sentinel names now. */
  masterPort (): Promise<number>
  /** Forces a failover and waits until the replica is the master the sentinel names. */
  failover (): Promise<void>
}

/** A master, a replica in sync with it, and one sentinel that knows both; stopped in teardown. */
export async function startSentinel (t: TestContext): Promise<RedisSentinelHandle> {
  const name = 'sessions-master'
  // Diskless sync waits 5 s for more replicas by default; there is only one.
  const sync = ['--repl-diskless-sync-delay', '0']
  const master = await RedisServer.start(t, { args: sync })
  const replica = await RedisServer.start(t, { args: [...sync, '--replicaof', master.host, String(master.port)] })
  await waitFor('the replica to sync', async () => {
    const info = String(await replica.call('INFO', 'replication'))
    return info.includes('master_link_status:up') ? true : undefined
  })
  const sentinel = await RedisServer.start(t, {
    sentinel: true,
    config: (port, dir) => [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${name} ${master.host} ${master.port} 1`,
      `sentinel down-after-milliseconds ${name} 2000`,
      `sentinel failover-timeout ${name} 10000`,
      '',
    ].join('\n'),
  })
  // Sentinel refreshes a replica's INFO every 10 s but only promotes one seen in the last 5 s, and
  // turns the old master into a replica 4 hello periods (8 s) after a failover; Redis 7 lets tests
  // shorten both (older servers refuse: the failover then retries and waits longer).
  await sentinel.call('SENTINEL', 'DEBUG', 'INFO-PERIOD', 200, 'PUBLISH-PERIOD', 200).catch(() => {})
  await waitFor('the sentinel to see the replica', async () => {
    const replicas = await sentinel.call('SENTINEL', 'REPLICAS', name) as string[][]
    return replicas.some((fields) => fieldOf(fields, 'port') === String(replica.port) &&
      fieldOf(fields, 'flags') === 'slave' && fieldOf(fields, 'master-link-status') === 'ok')
      ? true
      : undefined
  })
  const masterPort = async (): Promise<number> => {
    const address = await sentinel.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name) as string[]
    return Number(address[1])
  }
  return {
    master,
    replica,
    sentinel,
    name,
    sentinels: [{ host: sentinel.host, port: sentinel.port }],
    masterPort,
    async failover () {
      await waitFor('the sentinel to accept SENTINEL FAILOVER', async () => {
        try {
          await sentinel.call('SENTINEL', 'FAILOVER', name)
          return true
        } catch (err) {
          // NOGOODSLAVE: the replica's last INFO is too old; INPROG: one is already running.
          if (/INPROG/.test(String(err))) return true
          throw err
        }
      }, 15_000, 100)
      await waitFor('the replica to become the master', async () =>
        await masterPort() === replica.port && /role:master/.test(String(await replica.call('INFO', 'replication')))
          ? true
          : undefined, 15_000)
      // Until the sentinel turns the old master into a replica (killing its clients' connections),
      // clients already connected to it keep talking to it.
      await waitFor('the old master to become a replica', async () =>
        /role:slave/.test(String(await master.call('INFO', 'replication'))) ? true : undefined, 20_000)
    },
  }
}

function fieldOf (fields: string[], key: string): string | undefined {
  const at = fields.indexOf(key)
  return at >= 0 && at % 2 === 0 ? fields[at + 1] : undefined
}
