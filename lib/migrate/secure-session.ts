import Type from 'typebox'
import { keyList, type KeyInput } from '../../transformers/keys.js'
import { loadSodium } from '../../transformers/sodium.js'
import { parseOptions } from '../options.js'
import { decodeOldCookie, expireLine, isRecord, MigrationOptions, type OldCookieOptions, type SessionMigration } from './migration.js'

const LABEL = 'fromSecureSession()'
const NONCE_BYTES = 24
const MAC_BYTES = 16
// @fastify/secure-session's default `expiry`: 24 hours and a second.
const DEFAULT_EXPIRY = 86401

const Schema = Type.Object({
  ...MigrationOptions,
  key: Type.Unsafe<KeyInput>({}),
  expiry: Type.Optional(Type.Integer({ minimum: 1 })),
}, { additionalProperties: false })

export interface FromSecureSessionOptions<T> {
  /** The old cookie's name; default `'session'`, as @fastify/secure-session. */
  cookieName?: string
  /** The old plugin's `key`: 32 bytes, or its list of keys (every one is tried). */
  key: KeyInput
  /** The old plugin's `expiry` in seconds (default 86401, as its own): older sessions are not migrated. */
  expiry?: number
  /** Where the old cookie was set, to expire it. */
  cookie?: OldCookieOptions
  /** The old session's data (without its `__ts`) to this provider's payload; `null`: do not migrate. */
  map: (data: Record<string, unknown>) => T | null
}

/**
 * Reads @fastify/secure-session cookies (`base64(box);base64(nonce)`, libsodium's secretbox, the
 * time of its last write in `__ts`), through the optional peer dependency `sodium-native`.
 */
export function fromSecureSession<T> (options: FromSecureSessionOptions<T>): SessionMigration<T> {
  parseOptions(Schema, options, LABEL)
  const expiry = options.expiry ?? DEFAULT_EXPIRY
  const cookieName = options.cookieName ?? 'session'
  const expireCookie = expireLine(cookieName, options.cookie, LABEL)
  const keys = keyList(options.key, { label: `${LABEL} key`, lengths: [32] })
  const sodium = loadSodium(LABEL)
  const map = options.map

  return {
    cookieName,
    expireCookie,
    read (raw: string, now: number) {
      const value = decodeOldCookie(raw)
      if (value === null) return null
      const parts = value.split(';')
      if (parts.length !== 2) return null
      const box = Buffer.from(parts[0] as string, 'base64')
      const nonce = Buffer.from(parts[1] as string, 'base64')
      if (box.length < MAC_BYTES || nonce.length !== NONCE_BYTES) return null
      const plain = Buffer.allocUnsafe(box.length - MAC_BYTES)
      if (!keys.some((key) => sodium.crypto_secretbox_open_easy(plain, box, nonce, key))) return null
      let data: unknown
      try {
        data = JSON.parse(plain.toString('utf8'))
      } catch {
        return null
      }
      if (!isRecord(data)) return null
      // The old plugin's own rule: a session is over `expiry` seconds after its last write.
      const { __ts: written, ...rest } = data
      if (typeof written !== 'number' || (written + expiry) * 1000 - now <= 0) return null
      const payload = map(rest)
      return payload === null || payload === undefined ? null : { payload }
    },
  }
}
