import { createHmac, timingSafeEqual } from 'node:crypto'
import Type from 'typebox'
import { callStore, type ConnectStore } from '../../storages/connect.js'
import { parseOptions } from '../options.js'
import { decodeOldCookie, expireLine, isRecord, MigrationOptions, OldStoreError, type OldCookieOptions, type SessionMigration } from './migration.js'

const LABEL = 'fromConnectSession()'

const method = Type.Function([], Type.Unknown())
const Secret = Type.String({ minLength: 1 })
const Schema = Type.Object({
  ...MigrationOptions,
  secret: Type.Union([Secret, Type.Array(Secret, { minItems: 1 })]),
  store: Type.Object({ get: method, destroy: method }),
}, { additionalProperties: false })

export interface FromConnectSessionOptions<T> {
  /** The old cookie's name; default `'sessionId'` (@fastify/session); express-session's is `'connect.sid'`. */
  cookieName?: string
  /** The old library's `secret`: a string, or its list (every one is tried). */
  secret: string | readonly string[]
  /** The old library's store (connect-redis, connect-pg-simple, express-session's MemoryStore, ...). */
  store: ConnectStore
  /** Where the old cookie was set, to expire it. */
  cookie?: OldCookieOptions
  /** The old session's data (without its `cookie`) to this provider's payload; `null`: do not migrate. */
  map: (data: Record<string, unknown>) => T | null
}

/** `id.signature` (cookie-signature: HMAC-SHA256, base64 without padding), checked in constant time. */
function unsign (signed: string, secrets: readonly string[]): string | null {
  const dot = signed.lastIndexOf('.')
  if (dot <= 0) return null
  const id = signed.slice(0, dot)
  const given = Buffer.from(signed.slice(dot + 1))
  for (const secret of secrets) {
    const expected = Buffer.from(createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, ''))
    if (expected.length === given.length && timingSafeEqual(expected, given)) return id
  }
  return null
}

/** The old library's own expiry: the cookie's `expires` (@fastify/session keeps `originalExpires` too). */
function expired (cookie: unknown, now: number): boolean {
  if (!isRecord(cookie)) return false
  const at = cookie['originalExpires'] ?? cookie['expires']
  if (at === undefined || at === null) return false
  const time = new Date(at as string).getTime()
  return Number.isNaN(time) || time <= now
}

/**
 * Reads @fastify/session and express-session cookies (the session id signed as cookie-signature
 * does, `s:`-prefixed by express-session) and their session from the old store; once the session
 * is set in this provider's format, the old entry is destroyed.
 */
export function fromConnectSession<T> (options: FromConnectSessionOptions<T>): SessionMigration<T> {
  parseOptions(Schema, options, LABEL)
  const secrets = typeof options.secret === 'string' ? [options.secret] : [...options.secret]
  const store = options.store
  const cookieName = options.cookieName ?? 'sessionId'
  const expireCookie = expireLine(cookieName, options.cookie, LABEL)
  const map = options.map

  return {
    cookieName,
    expireCookie,
    async read (raw: string, now: number) {
      const value = decodeOldCookie(raw)
      if (value === null) return null
      const id = unsign(value.startsWith('s:') ? value.slice(2) : value, secrets)
      if (id === null) return null
      let session: unknown
      try {
        session = await callStore<unknown>('get', (cb) => store.get(id, cb))
      } catch (error) {
        throw new OldStoreError((error as Error).message)
      }
      if (!isRecord(session) || expired(session['cookie'], now)) return null
      // Own string keys only: a store in memory holds the old library's object, symbols and all.
      const data: Record<string, unknown> = {}
      for (const key of Object.keys(session)) if (key !== 'cookie') data[key] = session[key]
      const payload = map(data)
      if (payload === null || payload === undefined) return null
      return { payload, retire: async () => { await callStore('destroy', (cb) => store.destroy(id, cb)) } }
    },
  }
}
