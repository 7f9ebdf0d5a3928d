// What is subtle here is failure, not storage. Each call races its command against a timer of the
// storage's own `timeout`, and a command is handed to ioredis only while the connection is `ready`:
// while a connection is being made a call waits for it (within the same timer), while ioredis is
// between reconnection attempts a call fails at once. So an outage costs a request a prompt 503,
// and no command waits in ioredis's offline queue to run minutes after we reported its failure.
// Clients we make also have no offline queue, fail in-flight commands the moment their connection
// drops instead of resending them, reconnect forever with a short backoff, and have their 'error'
// events handled. (A client passed in keeps its own options: with ioredis's default
// autoResendUnfulfilledCommands, a command in flight when its connection drops is resent after
// reconnection.) When a command sent on a ready connection times out, the server hangs: a client we
// made has that connection dropped, so ioredis does not keep every unanswered command (arguments
// included) until the server wakes, and reconnects. A command already written to a server that
// hangs (SIGSTOP, a stuck host) can still run when it wakes, after we reported the timeout; no
// client can recall bytes already sent, but commands on one connection keep their order and PXAT
// is absolute, so a late write never outlives the expiry it was given. Expiry is Redis's own (the key vanishes with the session); a write or
// touch whose expiry is already past on our clock deletes the key, so it never leaves a value
// behind. `compareAndWrite` is one Lua script on the key's node (a Cluster routes it by its one
// key): Redis runs a script alone, so its GET, compare and SET (or DEL) are atomic with respect to
// every other command; it is sent by EVALSHA, and by EVAL when the server answers NOSCRIPT (after a
// restart or SCRIPT FLUSH), both within the call's one timer. A late compare-and-write from a hung
// server only writes over the value it expected, so it never overwrites a change made meanwhile.
// A client passed in is never closed; only clients made from `url`/`options` are.
import { createHash } from 'node:crypto'
import { Redis, type Cluster, type RedisOptions } from 'ioredis'
import Type, { type Static } from 'typebox'
import { FST_SESSIONS_STORAGE_UNAVAILABLE } from '../lib/errors.js'
import { optionsError, parseOptions } from '../lib/options.js'
import type { SessionStorage } from './storage.js'

const LABEL = 'redisStorage()'

export const RedisStorageOptionsSchema = Type.Object({
  /** An ioredis `Redis` (standalone or Sentinel-backed) or `Cluster`; used as is, never closed. */
  client: Type.Optional(Type.Unsafe<Redis | Cluster>({})),
  /** `redis://`, `rediss://` or a unix socket path: the storage makes, owns and closes a client. */
  url: Type.Optional(Type.String({ minLength: 1 })),
  /** ioredis options (host, port, sentinels + name, tls, ...) for a client the storage makes. */
  options: Type.Optional(Type.Unsafe<RedisOptions>({ type: 'object' })),
  /** Prepended to every key. */
  prefix: Type.Optional(Type.String({ default: 'sess:' })),
  /** Milliseconds after which any call fails, whatever the client's own settings. */
  timeout: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 2_147_483_647, default: 1000 })),
  /** Receives the connection errors of a client the storage made (otherwise they are dropped). */
  onError: Type.Optional(Type.Unsafe<(error: Error) => void>({})),
}, { additionalProperties: false })

export type RedisStorageOptions = Static<typeof RedisStorageOptionsSchema>

/** A Redis-backed storage; `client` is the ioredis client it talks through. */
export interface RedisStorage extends SessionStorage {
  readonly client: Redis | Cluster
  touch (key: string, expiresAt: number | null): Promise<void>
  compareAndWrite (key: string, expected: string | null, value: string, expiresAt: number | null): Promise<boolean>
  close (): Promise<void>
}

/**
 * Options the storage imposes on clients it makes, whatever `options` says: its guarantees (a call
 * fails within `timeout` and a failed command is never replayed later) depend on them.
 */
const OWNED_CLIENT_OVERRIDES = {
  enableOfflineQueue: false,
  autoResendUnfulfilledCommands: false,
  maxRetriesPerRequest: 0,
} as const satisfies RedisOptions

/**
 * Defaults for clients the storage makes; `options` may change them. Auto-pipelining stays off:
 * a session costs one command per phase of a request, so commands of different requests rarely
 * meet in one tick, and the pipeline made for each cost more than it saved (redisStorage counter
 * measured 15-20% more requests/s and 5 µs less GC per request without it).
 */
const OWNED_CLIENT_DEFAULTS = {
  enableAutoPipelining: false,
  retryStrategy: (attempt: number) => Math.min(attempt * 50, 500),
} as const satisfies RedisOptions

const CLIENT_METHODS = ['get', 'set', 'del', 'pexpireat', 'persist', 'on', 'off'] as const

// KEYS[1]: the key. ARGV: '1' when a value is expected ('0': absent expected), the expected value,
// the new value, the mode ('keep': no expiry, 'at': PXAT ARGV[5], 'del': the expiry has passed).
// Answers 1 when it wrote (or deleted), 0 when the stored value was not the expected one.
const COMPARE_AND_WRITE = `local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then return 0 end
elseif current then
  return 0
end
if ARGV[4] == 'del' then
  redis.call('DEL', KEYS[1])
elseif ARGV[4] == 'at' then
  redis.call('SET', KEYS[1], ARGV[3], 'PXAT', ARGV[5])
else
  redis.call('SET', KEYS[1], ARGV[3])
end
return 1`
const COMPARE_AND_WRITE_SHA = createHash('sha1').update(COMPARE_AND_WRITE).digest('hex')

/** A call in flight, until its answer, its failure or its deadline, whichever comes first. */
interface Call {
  name: string
  /** On the monotonic clock (performance.now()): a step of the wall clock moves no deadline. */
  deadline: number
  settled: boolean
  /** Handed to ioredis on a ready connection. */
  sent: boolean
  prev: Call | undefined
  next: Call | undefined
  /** Waiting for the connection: goes on once it is ready, or fails with why it is not. */
  resume (error?: Error): void
  settle (error: Error | undefined, value?: unknown): void
}

function isClient (value: unknown): value is Redis | Cluster {
  if (value === null || typeof value !== 'object') return false
  const candidate = value as Record<string, unknown>
  return typeof candidate['status'] === 'string' &&
    CLIENT_METHODS.every((name) => typeof candidate[name] === 'function')
}

function unavailable (message: string, cause?: unknown): Error {
  return cause === undefined
    ? new FST_SESSIONS_STORAGE_UNAVAILABLE(message)
    : new FST_SESSIONS_STORAGE_UNAVAILABLE(message, { cause })
}

function checkExpiry (expiresAt: number | null): void {
  if (expiresAt !== null && !Number.isFinite(expiresAt)) {
    throw new TypeError(`expiresAt must be a finite epoch time in milliseconds or null, got ${expiresAt}`)
  }
}

function makeClient (url: string | undefined, options: RedisOptions | undefined, onError?: (error: Error) => void): Redis {
  const settings: RedisOptions = { ...OWNED_CLIENT_DEFAULTS, ...options, ...OWNED_CLIENT_OVERRIDES }
  let client: Redis
  try {
    client = url === undefined ? new Redis(settings) : new Redis(url, settings)
  } catch (err) {
    throw optionsError(LABEL, `cannot make a Redis client: ${(err as Error).message}`)
  }
  // Without a listener ioredis prints every failed connection attempt; an outage is reported to
  // the caller through failing calls, and to `onError` when given.
  client.on('error', onError ?? (() => {}))
  return client
}

/**
 * Sessions in Redis through ioredis: `SET key value PXAT expiresAt`, `GET`, `DEL`, `PEXPIREAT`,
 * and a Lua script for `compareAndWrite`; one command per call. Pass `client` (standalone,
 * Sentinel-backed or Cluster; never closed here), or `url` and/or `options` for a client the
 * storage makes and closes.
 */
export function redisStorage (options: RedisStorageOptions): RedisStorage {
  const opts = parseOptions(RedisStorageOptionsSchema, options, LABEL)
  if (opts.onError !== undefined && typeof opts.onError !== 'function') {
    throw optionsError(LABEL, 'onError must be a function')
  }
  if (opts.client !== undefined) {
    if (opts.url !== undefined || opts.options !== undefined) {
      throw optionsError(LABEL, 'pass either client, or url and/or options, not both')
    }
    if (!isClient(opts.client)) throw optionsError(LABEL, 'client must be an ioredis Redis or Cluster instance')
  } else if (opts.url === undefined && opts.options === undefined) {
    throw optionsError(LABEL, 'one of client, url or options is required')
  }

  const prefix = opts.prefix ?? 'sess:'
  const timeout = opts.timeout ?? 1000
  const owned = opts.client === undefined
  const client: Redis | Cluster = opts.client ?? makeClient(opts.url, opts.options, opts.onError)
  let closing: Promise<void> | undefined

  // Calls waiting for the connection in progress. One set of listeners for all of them, added for
  // the first and removed with the last: a call that times out leaves the set, so a connection
  // that never gets ready (a server that accepts and never answers) keeps nothing of it.
  const waiting = new Set<Call>()
  function wait (call: Call): void {
    if (waiting.size === 0) {
      client.on('ready', onReady)
      client.on('close', onClose)
      client.on('end', onClose)
    }
    waiting.add(call)
  }
  function leave (call: Call): void {
    if (waiting.delete(call) && waiting.size === 0) stopWaiting()
  }
  function stopWaiting (): void {
    client.off('ready', onReady)
    client.off('close', onClose)
    client.off('end', onClose)
  }
  function release (error?: Error): void {
    const calls = [...waiting]
    waiting.clear()
    stopWaiting()
    for (const call of calls) call.resume(error)
  }
  function onReady (): void { release() }
  function onClose (): void { release(new Error('the connection attempt failed')) }

  // Calls in flight, oldest first, in a linked list a call leaves as it settles. Every call has
  // the same timeout, so deadlines come in the order calls start: one timer, armed for the oldest
  // call, stands in for a setTimeout and a clearTimeout per command.
  let first: Call | undefined
  let last: Call | undefined
  let sweeper: NodeJS.Timeout | undefined

  function watch (call: Call): void {
    call.prev = last
    if (last === undefined) first = call
    else last.next = call
    last = call
    if (sweeper === undefined) arm()
  }

  function unlink (call: Call): void {
    if (call.prev === undefined) first = call.next
    else call.prev.next = call.next
    if (call.next === undefined) last = call.prev
    else call.next.prev = call.prev
    call.prev = call.next = undefined
  }

  function arm (): void {
    // Unref'd: a call in flight has a connection keeping the process up; an idle storage must not.
    sweeper = first === undefined ? undefined : setTimeout(sweep, first.deadline - performance.now()).unref()
  }

  function sweep (): void {
    const now = performance.now()
    let hung = false
    for (let call = first; call !== undefined && call.deadline <= now; call = first) {
      hung ||= call.sent
      call.settle(unavailable(`redis ${call.name} got no answer within ${timeout} ms`))
    }
    // A command sent on a ready connection got no answer: the server hangs. ioredis keeps every
    // command it sent until the connection ends, arguments included, so the connection of a client
    // we made is dropped now (a destroyed socket: ending it politely would wait for the hung
    // server) rather than holding a queue that grows with the traffic until the server wakes. The
    // client fails what it still held and reconnects, resending nothing; what the server already
    // received may still run when it wakes, as before. A client passed in is the application's.
    if (hung && owned && client.status === 'ready') (client as Redis).stream.destroy()
    arm()
  }

  function run<T> (name: string, send: () => Promise<T>): Promise<T> {
    if (closing !== undefined) return Promise.reject(unavailable(`redis ${name}: the storage is closed`))
    return new Promise<T>((resolve, reject) => {
      const call: Call = {
        name,
        deadline: performance.now() + timeout,
        settled: false,
        sent: false,
        prev: undefined,
        next: undefined,
        resume (error?: Error) {
          if (error === undefined) start()
          else finish(error)
        },
        settle (error: Error | undefined, value?: unknown) {
          if (call.settled) return
          call.settled = true
          if (call.prev !== undefined || first === call) unlink(call)
          leave(call)
          if (error === undefined) resolve(value as T)
          else reject(error)
        },
      }
      const finish = (error: unknown, value?: T): void => {
        call.settle(error === undefined ? undefined : unavailable(`redis ${name} failed: ${(error as Error).message}`, error), value)
      }
      // Hand the command over only on a ready connection: anything else would queue it in ioredis
      // (for clients with an offline queue) and run it after we have reported a failure.
      const start = (): void => {
        if (call.settled) return
        if (client.status !== 'ready') {
          finish(new Error(`not connected (${client.status})`))
          return
        }
        let sending: Promise<T>
        call.sent = true
        try {
          sending = send()
        } catch (error) {
          finish(error)
          return
        }
        sending.then((value) => finish(undefined, value), finish)
      }
      const status = client.status
      if (status === 'ready') {
        watch(call)
        start()
      } else if (status === 'connecting' || status === 'connect' || status === 'wait') {
        watch(call)
        wait(call)
        if (status === 'wait') client.connect().catch(() => {})
      } else {
        finish(new Error(`not connected (${status})`))
      }
    })
  }

  return {
    client,

    read (key: string): Promise<string | null> {
      return run('GET', () => client.get(prefix + key))
    },

    async write (key: string, value: string, expiresAt: number | null): Promise<void> {
      checkExpiry(expiresAt)
      if (expiresAt === null) {
        await run('SET', () => client.set(prefix + key, value))
      } else if (expiresAt <= Date.now()) {
        await run('DEL', () => client.del(prefix + key))
      } else {
        await run('SET', () => client.set(prefix + key, value, 'PXAT', Math.ceil(expiresAt)))
      }
    },

    async invalidate (key: string): Promise<void> {
      await run('DEL', () => client.del(prefix + key))
    },

    async touch (key: string, expiresAt: number | null): Promise<void> {
      checkExpiry(expiresAt)
      if (expiresAt === null) {
        await run('PERSIST', () => client.persist(prefix + key))
      } else if (expiresAt <= Date.now()) {
        await run('DEL', () => client.del(prefix + key))
      } else {
        await run('PEXPIREAT', () => client.pexpireat(prefix + key, Math.ceil(expiresAt)))
      }
    },

    async compareAndWrite (key: string, expected: string | null, value: string, expiresAt: number | null): Promise<boolean> {
      checkExpiry(expiresAt)
      if (typeof value !== 'string') throw new TypeError('value must be a string')
      const mode = expiresAt === null ? 'keep' : expiresAt <= Date.now() ? 'del' : 'at'
      const args = [prefix + key, expected === null ? '0' : '1', expected ?? '', value, mode,
        mode === 'at' ? Math.ceil(expiresAt as number) : 0]
      const wrote = await run('EVALSHA', async () => {
        try {
          return await client.evalsha(COMPARE_AND_WRITE_SHA, 1, ...args)
        } catch (err) {
          if (!/^NOSCRIPT/.test((err as Error).message)) throw err
          return await client.eval(COMPARE_AND_WRITE, 1, ...args)
        }
      })
      return wrote === 1
    },

    close (): Promise<void> {
      closing ??= owned ? closeOwned(client as Redis, timeout) : Promise.resolve()
      return closing
    },
  }
}

// QUIT lets commands already sent finish; it is bounded like any command, and disconnect() then
// stops the client whatever state it is in (connecting, reconnecting, hung), so close() never hangs
// and no reconnection attempt follows. Between two reconnection attempts ioredis has no socket to
// close: the client then stays 'reconnecting' but never tries again.
async function closeOwned (client: Redis, timeout: number): Promise<void> {
  if (client.status === 'ready') await bounded(client.quit(), timeout)
  const ended = client.status === 'end' || client.status === 'reconnecting' || client.status === 'wait'
    ? undefined
    : new Promise<void>((resolve) => client.once('end', () => resolve()))
  client.disconnect()
  if (ended !== undefined) await bounded(ended, timeout)
}

/** Waits for `promise` to settle, at most `ms` milliseconds; never rejects. */
async function bounded (promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<void>((resolve) => { timer = setTimeout(resolve, ms) })
  await Promise.race([promise.then(() => {}, () => {}), expired])
  clearTimeout(timer)
}
