import type { SessionStorage } from './storage.js'
import { checkExpiry, hasExpired } from './expiry.js'

/*
 * A connect-style store (what express-session and @fastify/session use: connect-redis,
 * connect-pg-simple, connect-mongo, ...) as a SessionStorage. The store keeps objects with a
 * `cookie`, whose `expires` every store turns into its own TTL; ours go in as
 * `{ cookie: { expires }, fastifySessions: { value, expiresAt } }`. Stores count expiry in whole
 * seconds (or by their own default TTL for a session without one), so the exact expiry is kept
 * beside the value and checked on every read. Callbacks become promises; a store that also returns
 * a promise (connect-redis 7) is heard either way, once. Keys become store ids by `sid` below. Errors reject, which the plugin answers
 * with 503 FST_SESSIONS_STORAGE_UNAVAILABLE.
 */

type Callback<R> = (error?: unknown, result?: R) => void

/** What connect stores keep: a session with its cookie, whose `expires` sets the store's TTL. */
export interface ConnectSession {
  cookie: { originalMaxAge: number | null, expires?: Date | null }
}

/** The methods of an express-session / connect store that these adapters call. */
export interface ConnectStore {
  get (sid: string, callback: (error: unknown, session?: unknown) => void): unknown
  set (sid: string, session: ConnectSession, callback?: (error?: unknown) => void): unknown
  destroy (sid: string, callback?: (error?: unknown) => void): unknown
}

/** Calls a callback-style store method as a promise; whichever of callback and promise answers first wins. */
export function callStore<R> (what: string, call: (callback: Callback<R>) => unknown): Promise<R | undefined> {
  return new Promise((resolve, reject) => {
    const fail = (error: unknown): void => { reject(new Error(`connect store ${what} failed: ${error instanceof Error ? error.message : String(error)}`)) }
    const callback: Callback<R> = (error, result) => {
      if (error !== undefined && error !== null) fail(error)
      else resolve(result)
    }
    try {
      const returned = call(callback)
      if (typeof (returned as Promise<unknown> | undefined)?.then === 'function') (returned as Promise<unknown>).then(undefined, fail)
    } catch (error) {
      fail(error)
    }
  })
}

const FIELD = 'fastifySessions'
// The plugin's keys are base64url hashes and pass as they are; any other key (the contract allows
// every string, and PostgreSQL refuses NUL) travels as `~` and the base64url of its UTF-16 code
// units, which is one-to-one and cannot meet a key that passed as it was.
const PLAIN_KEY = /^[A-Za-z0-9_-]{1,200}$/

function sid (key: string): string {
  return PLAIN_KEY.test(key) ? key : '~' + Buffer.from(key, 'utf16le').toString('base64url')
}

/** A connect-style store as a SessionStorage: `cacheStorage(connectStore(store))` puts memory in front. */
export function connectStore (store: ConnectStore): SessionStorage {
  if (typeof store?.get !== 'function' || typeof store.set !== 'function' || typeof store.destroy !== 'function') {
    throw new TypeError('connectStore(store): store must have get, set and destroy (an express-session store)')
  }
  return {
    async read (key: string): Promise<string | null> {
      const session = await callStore<unknown>('get', (cb) => store.get(sid(key), cb))
      const entry = (session as Record<string, unknown> | null | undefined)?.[FIELD] as { value?: unknown, expiresAt?: unknown } | undefined
      if (typeof entry?.value !== 'string') return null
      const expiresAt = typeof entry.expiresAt === 'number' ? entry.expiresAt : null
      return hasExpired(expiresAt) ? null : entry.value
    },
    async write (key: string, value: string, expiresAt: number | null): Promise<void> {
      checkExpiry(expiresAt)
      if (hasExpired(expiresAt)) {
        await callStore('destroy', (cb) => store.destroy(sid(key), cb))
        return
      }
      const session = {
        cookie: expiresAt === null ? { originalMaxAge: null } : { originalMaxAge: expiresAt - Date.now(), expires: new Date(expiresAt) },
        [FIELD]: { value, expiresAt },
      }
      await callStore('set', (cb) => store.set(sid(key), session, cb))
    },
    async invalidate (key: string): Promise<void> {
      await callStore('destroy', (cb) => store.destroy(sid(key), cb))
    },
  }
}
