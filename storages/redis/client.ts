// The ioredis client a storage talks through: a client passed in is the application's (used as is,
// never closed); a client the storage makes from `url`/`options` is owned, and gets the settings
// that keep a call's failure prompt and final. It has no offline queue, fails the commands in
// flight the moment its connection drops instead of resending them after reconnection (a client
// passed in keeps its own options: with ioredis's default autoResendUnfulfilledCommands, such a
// command is resent), reconnects forever with a short backoff, and has its 'error' events handled.
import { Redis, type Cluster, type RedisOptions } from 'ioredis'
import { optionsError } from '../../lib/options.js'

export const LABEL = 'redisStorage()'

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

/** Whether `value` looks like an ioredis `Redis` or `Cluster` (what the storage calls on it). */
export function isClient (value: unknown): value is Redis | Cluster {
  if (value === null || typeof value !== 'object') return false
  const candidate = value as Record<string, unknown>
  return typeof candidate['status'] === 'string' &&
    CLIENT_METHODS.every((name) => typeof candidate[name] === 'function')
}

/** A client the storage owns, from `url` and/or `options`; `onError` gets its connection errors. */
export function makeClient (url: string | undefined, options: RedisOptions | undefined, onError?: (error: Error) => void): Redis {
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

// QUIT lets commands already sent finish; it is bounded like any command, and disconnect() then
// stops the client whatever state it is in (connecting, reconnecting, hung), so close() never hangs
// and no reconnection attempt follows. Between two reconnection attempts ioredis has no socket to
// close: the client then stays 'reconnecting' but never tries again.
export async function closeOwned (client: Redis, timeout: number): Promise<void> {
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
