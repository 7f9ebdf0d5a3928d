import type { FastifyBaseLogger } from 'fastify'
import Type from 'typebox'
import { isAttributeValue, isToken, readCookie } from '../cookie-syntax.js'
import { optionsError } from '../options.js'

// The provider option `migrate`: on a request that carries no session of the provider, each
// migration may find another library's cookie and turn its session into a payload of ours.

/** What a migration found: the payload to set, and what to undo once it is written. */
export interface MigratedSession<T> {
  payload: T
  /** Ends the old session once the new one is stored (connect: destroys the store entry). */
  retire?: () => Promise<void>
}

/**
 * Reads another session library's cookie (`fromSecureSession`, `fromConnectSession`, or your own).
 * `read` resolves null for a cookie that is garbage, tampered with, expired, of another key, or
 * that `map` declined. If it throws, the request goes on without it (and a log line without values
 * says so); only the built-in migrations' old store failing answers 503.
 */
export interface SessionMigration<T> {
  /** The old library's cookie name. */
  readonly cookieName: string
  /** The Set-Cookie line that expires the old cookie once the session moved. */
  readonly expireCookie: string
  read (raw: string, now: number): MigratedSession<T> | null | Promise<MigratedSession<T> | null>
}

/** Where the old cookie was set, so it can be expired (the old library's cookie options). */
export interface OldCookieOptions {
  /** Default `/`. */
  path?: string
  domain?: string
  /** Default: Secure for `__Secure-` and `__Host-` names. */
  secure?: boolean
}

/** The options every built-in migration shares, as schemas (unknown options are refused). */
export const MigrationOptions = {
  cookieName: Type.Optional(Type.String()),
  cookie: Type.Optional(Type.Object({
    path: Type.Optional(Type.String()),
    domain: Type.Optional(Type.String()),
    secure: Type.Optional(Type.Boolean()),
  }, { additionalProperties: false })),
  map: Type.Function([], Type.Unknown()),
}

/** The Set-Cookie line that expires `name`, checked at the factory. */
export function expireLine (name: string, cookie: OldCookieOptions | undefined, label: string): string {
  if (typeof name !== 'string' || !isToken(name)) throw optionsError(label, 'cookieName must be a cookie name (an RFC 9110 token)')
  const path = cookie?.path ?? '/'
  const domain = cookie?.domain
  if (!isAttributeValue(path) || (domain !== undefined && !isAttributeValue(domain))) throw optionsError(label, 'cookie path and domain must be attribute values (no ";" or control characters)')
  const secure = cookie?.secure ?? /^__(Secure|Host)-/.test(name)
  return `${name}=; Path=${path}${domain === undefined ? '' : `; Domain=${domain}`}; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0${secure ? '; Secure' : ''}`
}

/** A `%`-decoded cookie value (what @fastify/cookie and the cookie package write), or null. */
export function decodeOldCookie (raw: string): string | null {
  if (!raw.includes('%')) return raw
  try {
    return decodeURIComponent(raw)
  } catch {
    return null
  }
}

/** Thrown by a migration whose old store failed: the request answers 503, the session is not lost. */
export class OldStoreError extends Error {
  override name = 'OldStoreError'
}

/** A plain object (JSON's), not an array or null. */
export function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * The first migration whose cookie the request carries and that yields a session. A migration
 * that throws (a `map` with a bug) is skipped with a log line that carries no value; an old store
 * that fails rejects.
 */
export async function findOld<T> (migrations: ReadonlyArray<SessionMigration<T>>, cookieHeader: string, now: number, log: FastifyBaseLogger): Promise<{ found: MigratedSession<T>, migration: SessionMigration<T> } | null> {
  for (const migration of migrations) {
    const raw = readCookie(cookieHeader, migration.cookieName)
    if (raw === undefined || raw === '') continue
    let found: MigratedSession<T> | null
    try {
      found = await migration.read(raw, now)
    } catch (error) {
      if (error instanceof OldStoreError) throw error
      log.warn({ migration: migration.cookieName, err: { name: (error as Error)?.name } }, `session migration from cookie "${migration.cookieName}" failed (map threw?); the request goes on without it`)
      continue
    }
    if (found !== null) return { found, migration }
  }
  return null
}

/** Whether the Cookie header carries any migration's cookie: the one scan a request without one pays. */
export function carriesOld (migrations: ReadonlyArray<SessionMigration<unknown>>, cookieHeader: string): boolean {
  for (const migration of migrations) {
    const raw = readCookie(cookieHeader, migration.cookieName)
    if (raw !== undefined && raw !== '') return true
  }
  return false
}
