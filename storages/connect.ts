import type { SessionStorage } from './storage.js'
import { checkExpiry, hasExpired } from './expiry.js'

/*
 * A connect-style store (what express-session and @fastify/session use: connect-redis,
 * connect-pg-simple, connect-mongo, ...) as a SessionStorage. The store keeps objects with a
 * `cookie`, whose `expires` every store turns into its own TTL; ours go in as
 * `{ cookie: { expires }, fastifySessions: { value, expiresAt } }`. Stores count expiry in whole
 * seconds (or by their own default TTL for a session without one), so the exact expiry is kept
 * beside the value and checked on every read. Callbacks become promises; a store that also returns
 * a promise (connect-redis 7) is heard either way, once. Errors reject, which the plugin answers
 * with 503 FST_SESSIONS_STORAGE_UNAVAILABLE.
 */

type Callback<R> = (error?: unknown, result?: R) => void

/** The methods of an express-session / connect store that these adapters call. */
export interface ConnectStore {
  get (sid: string, callback: (error: unknown, session?: unknown) => void): unknown
  set (sid: string, session: Record<string, unknown>, callback?: (error?: unknown) => void): unknown
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

/** A connect-style store as a SessionStorage: `cacheStorage(connectStore(store))` puts memory in front. */
export function connectStore (store: ConnectStore): SessionStorage {
  if (typeof store?.get !== 'function' || typeof store.set !== 'function' || typeof store.destroy !== 'function') {
    throw new TypeError('connectStore(store): store must have get, set and destroy (an express-session store)')
  }
  return {
    async read (key: string): Promise<string | null> {
      const session = await callStore<unknown>('get', (cb) => store.get(key, cb))
      const entry = (session as Record<string, unknown> | null | undefined)?.[FIELD] as { value?: unknown, expiresAt?: unknown } | undefined
      if (typeof entry?.value !== 'string') return null
      const expiresAt = typeof entry.expiresAt === 'number' ? entry.expiresAt : null
      return hasExpired(expiresAt) ? null : entry.value
    },
    async write (key: string, value: string, expiresAt: number | null): Promise<void> {
      checkExpiry(expiresAt)
      if (hasExpired(expiresAt)) {
        await callStore('destroy', (cb) => store.destroy(key, cb))
        return
      }
      const cookie = expiresAt === null ? {} : { expires: new Date(expiresAt), originalMaxAge: expiresAt - Date.now() }
      await callStore('set', (cb) => store.set(key, { cookie, [FIELD]: { value, expiresAt } }, cb))
    },
    async invalidate (key: string): Promise<void> {
      await callStore('destroy', (cb) => store.destroy(key, cb))
    },
  }
}
