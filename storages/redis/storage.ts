// Sessions in Redis. What is subtle here is failure, not storage, and each part has its module:
// commands.ts bounds every call by the storage's own `timeout` and hands a command to ioredis only
// on a ready connection, so an outage costs a request a prompt 503 and no command runs minutes
// after we reported its failure (deadlines.ts keeps the deadlines, readiness.ts the calls waiting
// for a connection); client.ts makes and closes the clients the storage owns; compare-and-write.ts
// is the Lua script of `compareAndWrite`. Expiry is Redis's own (the key vanishes with the
// session, PXAT being absolute); a write or touch whose expiry is already past on our clock
// deletes the key, so it never leaves a value behind. A client passed in is never closed; only
// clients made from `url`/`options` are.
import type { Cluster, Redis, RedisOptions } from 'ioredis'
import Type, { type Static } from 'typebox'
import { optionsError, parseOptionsWithDefaults, withDefault, type WithDefaults } from '../../lib/options.js'
import { expiryAt } from '../expiry.js'
import type { StorageWith, SubjectCapability } from '../storage.js'
import { closeOwned, isClient, LABEL, makeClient } from './client.js'
import { Commands } from './commands.js'
import { compareAndWriteScript } from './compare-and-write.js'
import { redisEnded } from './ended.js'
import { redisSubjects } from './subjects.js'

export const RedisStorageOptionsSchema = Type.Object({
  /** An ioredis `Redis` (standalone or Sentinel-backed) or `Cluster`; used as is, never closed. */
  client: Type.Optional(Type.Unsafe<Redis | Cluster>({})),
  /** `redis://`, `rediss://` or a unix socket path: the storage makes, owns and closes a client. */
  url: Type.Optional(Type.String({ minLength: 1 })),
  /** ioredis options (host, port, sentinels + name, tls, ...) for a client the storage makes. */
  options: Type.Optional(Type.Unsafe<RedisOptions>({ type: 'object' })),
  /** Prepended to every key. */
  prefix: withDefault(Type.String(), 'sess:'),
  /** Milliseconds after which any call fails, whatever the client's own settings. */
  timeout: withDefault(Type.Number({ exclusiveMinimum: 0, maximum: 2_147_483_647 }), 1000),
  /** Receives the connection errors of a client the storage made (otherwise they are dropped). */
  onError: Type.Optional(Type.Unsafe<(error: Error) => void>({})),
}, { additionalProperties: false })

export type RedisStorageOptions = Static<typeof RedisStorageOptionsSchema>

/** A Redis-backed storage; `client` is the ioredis client it talks through. */
export interface RedisStorage extends StorageWith<'touch' | 'compareAndWrite' | 'close' | 'publishEnded' | 'subscribeEnded' | SubjectCapability> {
  readonly client: Redis | Cluster
}

function checkOptions (options: RedisStorageOptions): WithDefaults<typeof RedisStorageOptionsSchema> {
  const opts = parseOptionsWithDefaults(RedisStorageOptionsSchema, options, LABEL)
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
  return opts
}

/**
 * Sessions in Redis through ioredis: `SET key value PXAT expiresAt`, `GET`, `DEL`, `PEXPIREAT`,
 * and a Lua script for `compareAndWrite`; one command per call. Pass `client` (standalone,
 * Sentinel-backed or Cluster; never closed here), or `url` and/or `options` for a client the
 * storage makes and closes.
 */
export function redisStorage (options: RedisStorageOptions): RedisStorage {
  const { prefix, timeout, ...opts } = checkOptions(options)
  const owned = opts.client === undefined
  const client: Redis | Cluster = opts.client ?? makeClient(opts.url, opts.options, opts.onError)
  const commands = new Commands(client, { timeout, owned })
  let closing: Promise<void> | undefined
  const ended = redisEnded(client, commands, prefix)

  return {
    client,
    ...redisSubjects(client, commands, prefix),
    publishEnded: ended.publishEnded,
    subscribeEnded: ended.subscribeEnded,

    read (key: string): Promise<string | null> {
      return commands.run('GET', () => client.get(prefix + key))
    },

    async write (key: string, value: string, expiresAt: number | null): Promise<void> {
      const expiry = expiryAt(expiresAt)
      if (expiry.kind === 'never') await commands.run('SET', () => client.set(prefix + key, value))
      else if (expiry.kind === 'passed') await commands.run('DEL', () => client.del(prefix + key))
      else await commands.run('SET', () => client.set(prefix + key, value, 'PXAT', expiry.at))
    },

    async invalidate (key: string): Promise<void> {
      await commands.run('DEL', () => client.del(prefix + key))
    },

    async touch (key: string, expiresAt: number | null): Promise<void> {
      const expiry = expiryAt(expiresAt)
      if (expiry.kind === 'never') await commands.run('PERSIST', () => client.persist(prefix + key))
      else if (expiry.kind === 'passed') await commands.run('DEL', () => client.del(prefix + key))
      else await commands.run('PEXPIREAT', () => client.pexpireat(prefix + key, expiry.at))
    },

    compareAndWrite (key: string, expected: string | null, value: string, expiresAt: number | null): Promise<boolean> {
      // A rejection, never a throw, whatever is wrong: callers only await.
      try {
        const expiry = expiryAt(expiresAt)
        if (typeof value !== 'string') throw new TypeError('value must be a string')
        return commands.run('EVALSHA', () => compareAndWriteScript(client, prefix + key, expected, value, expiry))
      } catch (error) {
        return Promise.reject(error)
      }
    },

    close (): Promise<void> {
      if (closing === undefined) {
        ended.close().catch(() => {})
        commands.close()
        closing = owned ? closeOwned(client as Redis, timeout) : Promise.resolve()
      }
      return closing
    },
  }
}
