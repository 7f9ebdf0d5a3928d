import type { FastifyBaseLogger } from 'fastify'
import { readCookie } from '../lib/cookie-syntax.js'
import { providerOf, type Provider, type SessionProvider } from '../lib/provider.js'
import type { Outgoing } from '../lib/transport.js'

// The test kit: session values made and read the way the plugin makes and reads them (the
// provider's serializer, envelope, transformers and encoding; Ktor's formats included), for
// tests that start logged in (inject, fetch, a browser's storageState) or check what a response set.

export interface SessionCookieOptions {
  /** When the session was made (epoch ms or a Date); default now. */
  now?: number | Date
  /** The session's own lifetime in seconds, as `set(p, value, { maxAge })` gives it. */
  maxAge?: number
}

/** A cookie as Playwright's storageState (and most cookie jars) lists it. */
export interface NamedCookie {
  name: string
  value: string
}

/** What `readSession` reads: a Set-Cookie line (or several), a Cookie header, or storageState cookies. */
export type SessionCarrier = string | readonly string[] | NamedCookie | readonly NamedCookie[]

const silent: FastifyBaseLogger = {
  level: 'silent',
  fatal () {},
  error () {},
  warn () {},
  info () {},
  debug () {},
  trace () {},
  silent () {},
  child () { return silent },
}

function epoch (now: number | Date | undefined): number {
  return now === undefined ? Date.now() : typeof now === 'number' ? now : now.getTime()
}

/**
 * The value a provider's client would hold for `payload`: server-side, a new session is written to
 * the provider's storage and its id is returned as it travels; client-side, the sealed payload.
 */
export async function sessionValue<T> (provider: SessionProvider<T>, payload: T, options: SessionCookieOptions = {}): Promise<string> {
  const p = providerOf(provider)
  const now = epoch(options.now)
  const slot = p.side.slot()
  let stamp = p.clock.stamp(null, now)
  if (options.maxAge !== undefined) stamp = p.clock.withLifetime(stamp, options.maxAge)
  slot.set(payload, p.codec.serialize(payload), stamp)
  if (slot.kind === 'client') return slot.out
  const out: Outgoing[] = []
  await slot.side.write(slot, now, silent, out)
  return (out[0] as Outgoing)[1] as string
}

/**
 * `NAME=value` for a session holding `payload`, to send as a Cookie header (inject, fetch) or to
 * split into a browser cookie. Server-side providers: the record is written into their storage.
 */
export async function sessionCookie<T> (provider: SessionProvider<T>, payload: T, options: SessionCookieOptions = {}): Promise<string> {
  return `${provider.name}=${await sessionValue(provider, payload, options)}`
}

// The provider's raw value in what was given, or undefined.
function rawValue (p: Provider, carrier: SessionCarrier): string | undefined {
  const items: ReadonlyArray<string | NamedCookie> = typeof carrier === 'string' || !Array.isArray(carrier) ? [carrier as string | NamedCookie] : carrier
  for (const item of items) {
    if (typeof item !== 'string') {
      if (item.name === p.name) return item.value
      continue
    }
    if (p.transport === 'header') return item
    // A Set-Cookie line starts with its cookie; a Cookie header lists pairs. One scan reads both.
    const value = readCookie(item, p.name)
    if (value !== undefined) return value
  }
  return undefined
}

/**
 * The payload a Set-Cookie line, a Cookie header, storageState cookies or (header sessions) a
 * header value carry for `provider`, read as the plugin reads it (clocks, schema and, server-side,
 * the storage), or null when it carries none or it reads as absent.
 */
export async function readSession<T> (provider: SessionProvider<T>, carrier: SessionCarrier, options: { now?: number | Date } = {}): Promise<T | null> {
  const p = providerOf(provider)
  const raw = rawValue(p, carrier)
  if (raw === undefined || raw === '') return null
  const now = epoch(options.now)
  const read = p.side.kind === 'client' ? p.side.read(raw, now) : await p.side.read(raw, now, silent)
  return typeof read === 'string' || !('value' in read) ? null : read.value as T
}
