import type { FastifyBaseLogger } from 'fastify'
import { ChunkedCookieTransport } from '../lib/chunked-transport.js'
import { chunkName } from '../lib/cookie-chunks.js'
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
 * A value over `cookie.chunks` cookies gives every chunk: `NAME=...; NAME.1=...`.
 */
export async function sessionCookie<T> (provider: SessionProvider<T>, payload: T, options: SessionCookieOptions = {}): Promise<string> {
  const value = await sessionValue(provider, payload, options)
  const transport = providerOf(provider).codec.transport
  if (!(transport instanceof ChunkedCookieTransport)) return `${provider.name}=${value}`
  return transport.pieces(value).map((piece, i) => `${chunkName(provider.name, i)}=${piece}`).join('; ')
}

// The provider's raw value in what was given, or undefined. Set-Cookie lines and Cookie headers
// are read as one Cookie header (attributes are pairs the scan passes over), so chunks join.
function rawValue (p: Provider, carrier: SessionCarrier): string | undefined {
  const items: ReadonlyArray<string | NamedCookie> = typeof carrier === 'string' || !Array.isArray(carrier) ? [carrier as string | NamedCookie] : carrier
  if (p.transport === 'header') return items.find((item): item is string => typeof item === 'string')
  const cookie = items.map((item) => typeof item === 'string' ? item : `${item.name}=${item.value}`).join('; ')
  return p.codec.transport.read({ cookie })
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
