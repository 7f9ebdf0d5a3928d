import type { Static, TSchema } from 'typebox'
import { Compile, type Validator } from 'typebox/compile'
import type { SessionStorage } from '../storages/storage.js'
import type { SessionTransportTransformer } from '../transformers/transformer.js'
import { ENVELOPE_HEAD, envelopePrefix, legacyPrefix, looksLikeEnvelope, openEnvelope, sealEnvelope, type Stamp } from './envelope.js'
import { FST_SESSIONS_INVALID_PAYLOAD, FST_SESSIONS_OPTIONS, FST_SESSIONS_TOO_LARGE } from './errors.js'
import { DEFAULT_ID_PATTERN, defaultIdentity, storageKey } from './identity.js'
import { checkEncoding, checkHeaderName, checkLifetimes } from './option-checks.js'
import { optionsError, parseOptions } from './options.js'
import {
  CookieSessionOptionsSchema, DEFAULT_MAX_AGE, HeaderSessionOptionsSchema,
  type CookieOptions, type CookieSessionOptions, type HeaderSessionOptions,
} from './provider-options.js'
import { detach, Recent } from './recent.js'
import { jsonSerializer, type SessionSerializer } from './serializer.js'
import { CookieTransport, HeaderTransport, isAttributeValue, isToken, type Transport } from './transport.js'

/** Why a session that was sent reads as absent. */
export type InvalidReason = 'malformed' | 'bad-signature' | 'wrong-provider' | 'expired' | 'idle' | 'schema' | 'not-found'

declare const payload: unique symbol

/** A named session: its payload schema, its transport, and where the payload lives. */
export interface SessionProvider<T = unknown> {
  readonly name: string
  readonly schema: TSchema
  readonly transport: 'cookie' | 'header'
  /** True when a storage keeps the payload and only an id travels. */
  readonly serverSide: boolean
  /** Carries the payload type for inference; never set at run time. */
  readonly [payload]?: T
}

/** The payload type of a provider. */
export type SessionPayload<P> = P extends SessionProvider<infer T> ? T : never

const MAX_COOKIE_BYTES = 4096

// What Node refuses in a header value (and would turn into a 500 when the response is sent).
const NOT_HEADER_SAFE = /[^\t\x20-\x7e\x80-\xff]/

// How far ahead of this server's clock a client-side stamp may be (other servers' clocks).
const CLOCK_SKEW = 60_000

/** A client-side value past its transformers and envelope: its payload text and times. */
interface Verified {
  /** The transport value itself: the cache is keyed by its end only, and a hit must match it whole. */
  raw: string
  text: string
  stamp: Stamp | null
}

const VERIFIED_KEY_CHARS = 32

function verifiedKey (raw: string): string {
  return raw.length <= VERIFIED_KEY_CHARS ? raw : raw.slice(-VERIFIED_KEY_CHARS)
}

/** What a client-side value holds once read. */
export interface Opened {
  value: unknown
  text: string
  stamp: Stamp | null
}

/**
 * A provider with its read and write pipelines composed once, when it is made: the per-request
 * path is a fixed sequence of plain calls with a compiled schema check.
 */
export class Provider<T = unknown> implements SessionProvider<T> {
  readonly name: string
  readonly schema: TSchema
  readonly transport: 'cookie' | 'header'
  readonly serverSide: boolean
  readonly carrier: Transport
  readonly storage: SessionStorage | undefined
  readonly serializer: SessionSerializer<T>
  readonly transformers: readonly SessionTransportTransformer[]
  readonly identity: () => string
  readonly idPattern: RegExp
  /** Milliseconds, or null. */
  readonly maxAge: number | null
  /** The longest absolute lifetime any session may have, in milliseconds, or null. */
  readonly maxAgeLimit: number | null
  readonly idleTimeout: number | null
  /** A tenth of the idle window: refreshes happen at most this often. */
  readonly refreshEvery: number
  readonly envelope: boolean
  /** Server-side writes are compare-and-set: a session changed since it was read is a conflict. */
  readonly rejectConflicts: boolean
  /** The cookie's own Max-Age in seconds: a number, null (browser session) or undefined (follow maxAge). */
  private readonly cookieMaxAge: number | null | undefined
  private readonly prefix: string
  /** The version 1 envelope prefix while that format is still safe to read, or null. */
  private readonly legacy: string | null
  private readonly validator: Validator
  // Server-side idle refreshes done by this process, by key: touch moves the storage's expiry
  // without rewriting the record, so the record alone cannot say a refresh just happened.
  private readonly touchedAt = new Recent<number>(10_000)
  // Storage keys of recently seen ids: a SHA-256 per request is a measurable share of a
  // server-side read, and the same ids come back request after request.
  // Weighed by length: ids are the client's, and a custom idPattern may allow long ones.
  private readonly keys = new Recent<string>(2 * 1024 * 1024, (id, key) => id.length + key.length + 64)
  // Client-side values this process wrote or verified, by their exact transport form. A hit skips
  // the decoding and the transformers (a MAC, a decryption) but never the clocks or the schema:
  // only values that passed the transformers get in, so a client cannot fill it with its own.
  // Keyed by the value's last characters (a MAC, a tag, a signature): hashing a whole cookie value
  // for the map cost more than the rest of a hit. A hit still compares the whole value.
  // Weighed as heap bytes: the strings, plus ~320 for the entry's objects and string headers
  // (measured: 572 bytes of heap for a 250-character value and its 30-character payload).
  private readonly verified = new Recent<Verified>(4 * 1024 * 1024, (key, entry) => key.length + entry.raw.length + entry.text.length + 320)

  constructor (name: string, schema: TSchema, carrier: Transport, options: CookieSessionOptions<T> & { cookie?: CookieOptions }) {
    this.name = name
    this.schema = schema
    this.carrier = carrier
    this.transport = carrier.kind
    this.storage = options.storage
    this.serverSide = options.storage !== undefined
    this.serializer = options.serializer ?? jsonSerializer(schema) as SessionSerializer<T>
    this.transformers = [...(options.transformers ?? [])]
    this.identity = options.identity ?? defaultIdentity
    // Without g and y, whose lastIndex would make test() alternate between requests.
    this.idPattern = options.idPattern === undefined ? DEFAULT_ID_PATTERN : new RegExp(options.idPattern.source, options.idPattern.flags.replace(/[gy]/g, ''))
    const maxAge = options.maxAge === undefined ? DEFAULT_MAX_AGE : options.maxAge
    this.maxAge = maxAge === null ? null : maxAge * 1000
    this.maxAgeLimit = options.maxAgeLimit === undefined ? this.maxAge : options.maxAgeLimit === null ? null : options.maxAgeLimit * 1000
    this.idleTimeout = options.idleTimeout == null ? null : options.idleTimeout * 1000
    this.refreshEvery = this.idleTimeout === null ? Infinity : this.idleTimeout / 10
    this.envelope = options.envelope ?? true
    this.rejectConflicts = options.concurrency === 'reject'
    this.cookieMaxAge = options.cookie?.maxAge
    this.prefix = envelopePrefix(name)
    // Version 1 put the name and times in the first 16 bytes: readable (nobody logged out at the
    // upgrade) only where every transformer authenticates all of it.
    this.legacy = this.transformers.some((t) => (t.malleablePrefix ?? 0) > 0) ? null : legacyPrefix(name)
    this.validator = Compile(schema)
  }

  /** The transport value with the encoding and transformers undone, or why not. */
  unwrap (raw: string): string | 'malformed' | 'bad-signature' {
    let value = this.carrier.kind === 'cookie' ? this.carrier.decode(raw) : raw
    if (value === null) return 'malformed'
    // A transformer must not throw on client input; one that does (a user's own) rejects the value.
    try {
      for (let i = this.transformers.length - 1; i >= 0; i--) {
        value = (this.transformers[i] as SessionTransportTransformer).transformRead(value)
        if (value === null) return 'bad-signature'
      }
    } catch {
      return 'bad-signature'
    }
    return value
  }

  /** What travels: the transformers applied in order, then the cookie encoding. */
  wrap (value: string): string {
    for (const transformer of this.transformers) value = transformer.transformWrite(value)
    if (this.carrier.kind !== 'cookie') {
      if (NOT_HEADER_SAFE.test(value)) {
        throw new FST_SESSIONS_INVALID_PAYLOAD(this.name, 'a header cannot carry control characters or characters above U+00FF; encrypt() sends base64url, or use a cookie session')
      }
      return value
    }
    try {
      return this.carrier.encode(value)
    } catch (error) {
      throw new FST_SESSIONS_INVALID_PAYLOAD(this.name, (error as Error).message)
    }
  }

  /** The payload from serialized text, or why it cannot be used. */
  parse (text: string): { value: unknown } | 'malformed' | 'schema' {
    let value: unknown
    try {
      value = this.serializer.deserialize(text)
    } catch {
      return 'malformed'
    }
    // A recursive schema checks a deeply nested value recursively: a client must not be able to
    // overflow the stack with one (a RangeError here would be a 500).
    try {
      return this.validator.Check(value) ? { value } : 'schema'
    } catch {
      return 'schema'
    }
  }

  /** Reads a client-side value through the whole pipeline. */
  open (raw: string, now: number): Opened | InvalidReason {
    let verified = this.verified.get(verifiedKey(raw))
    if (verified === undefined || verified.raw !== raw) {
      const inner = this.unwrap(raw)
      if (inner === 'malformed' || inner === 'bad-signature') return inner
      // Kept for later requests: copies, not views of this request's Cookie header.
      const own = detach(raw)
      if (this.envelope) {
        const opened = openEnvelope(this.prefix, this.legacy, inner)
        if (typeof opened === 'string') return opened
        verified = { raw: own, text: detach(opened.rest), stamp: opened.stamp }
      } else {
        // An enveloped provider's value, under a shared key: never a bare payload.
        if (looksLikeEnvelope(inner)) return 'wrong-provider'
        verified = { raw: own, text: detach(inner), stamp: null }
      }
      this.verified.set(verifiedKey(own), verified)
    }
    let stamp = verified.stamp
    if (stamp !== null) {
      stamp = this.limit(stamp)
      const reason = this.expiry(stamp, now)
      if (reason !== null) return reason
    }
    const parsed = this.parse(verified.text)
    return typeof parsed === 'string' ? parsed : { value: parsed.value, text: verified.text, stamp }
  }

  /**
   * The stamp with its expiry brought within `created + maxAgeLimit`: a session issued under a
   * longer lifetime (before a redeploy, or by a later-lowered limit) ends as the limit says now.
   */
  limit (stamp: Stamp): Stamp {
    const limit = this.maxAgeLimit
    if (limit === null) return stamp
    const latest = stamp.created + limit
    return stamp.expires !== null && stamp.expires <= latest ? stamp : { created: stamp.created, seen: stamp.seen, expires: latest }
  }

  /** The expiry of a session given its own `maxAge` (seconds) at `set`; throws when it is out of bounds. */
  lifetime (created: number, maxAge: number): number {
    if (!Number.isInteger(maxAge) || maxAge < 1) {
      throw new FST_SESSIONS_INVALID_PAYLOAD(this.name, 'maxAge must be a whole number of seconds, at least 1')
    }
    if (this.maxAgeLimit !== null && maxAge * 1000 > this.maxAgeLimit) {
      throw new FST_SESSIONS_INVALID_PAYLOAD(this.name, `maxAge ${maxAge} is above the provider's maxAgeLimit (${this.maxAgeLimit / 1000}); raise maxAgeLimit to allow it`)
    }
    return created + maxAge * 1000
  }

  /**
   * 'expired' or 'idle' when the stamp's clocks have run out at `now`; 'malformed' for times in
   * the future beyond other servers' clock skew, which only a forgery or a leaked key makes.
   */
  expiry (stamp: Stamp, now: number): 'expired' | 'idle' | 'malformed' | null {
    if (stamp.created > now + CLOCK_SKEW || stamp.seen > now + CLOCK_SKEW) return 'malformed'
    if (stamp.expires !== null && now >= stamp.expires) return 'expired'
    if (this.idleTimeout !== null && now >= stamp.seen + this.idleTimeout) return 'idle'
    return null
  }

  /** Checks a value handed to `set` and returns its serialized text. */
  serialize (value: unknown): string {
    if (!this.validator.Check(value)) {
      const error = this.validator.Errors(value)[0]
      const where = error === undefined || error.instancePath === '' ? 'the payload' : error.instancePath.slice(1).replaceAll('/', '.')
      throw new FST_SESSIONS_INVALID_PAYLOAD(this.name, `${where} ${error?.message ?? 'does not match the schema'}`)
    }
    try {
      return this.serializer.serialize(value as T)
    } catch (error) {
      throw new FST_SESSIONS_INVALID_PAYLOAD(this.name, (error as Error).message)
    }
  }

  /** Times for a session set at `now`: created and expiry carry over from the current session. */
  stamp (current: Stamp | null, now: number): Stamp {
    if (current !== null) return { created: current.created, seen: now, expires: current.expires }
    return { created: now, seen: now, expires: this.maxAge === null ? null : now + this.maxAge }
  }

  /** The encoded client-side value for a payload; throws FST_SESSIONS_TOO_LARGE past 4096 bytes. */
  seal (text: string, stamp: Stamp): string {
    if (!this.envelope && looksLikeEnvelope(text)) {
      throw new FST_SESSIONS_INVALID_PAYLOAD(this.name, 'without the envelope, a serialized payload may not start as an envelope does (1:<name>: or ' + ENVELOPE_HEAD + ')')
    }
    const out = this.wrap(this.envelope ? sealEnvelope(this.prefix, stamp, text) : text)
    if (this.carrier.kind === 'cookie') {
      const size = this.carrier.size(out)
      if (size > MAX_COOKIE_BYTES) throw new FST_SESSIONS_TOO_LARGE(this.name, size)
    }
    // The client sends this value back next: remembering it spares that request the verification.
    // The serializer's text may be a rope of many small pieces: kept flat, at its counted weight.
    this.verified.set(verifiedKey(out), { raw: out, text: detach(text), stamp: this.envelope ? stamp : null })
    return out
  }

  /** When the storage should drop the record: the absolute expiry or the idle deadline, whichever is first. */
  storageExpiry (stamp: Stamp, now: number): number | null {
    const idle = this.idleTimeout === null ? null : now + this.idleTimeout
    if (stamp.expires === null) return idle
    return idle === null ? stamp.expires : Math.min(idle, stamp.expires)
  }

  /** The storage key of an id (a hash of the provider name and the id). */
  keyOf (id: string): string {
    let key = this.keys.get(id)
    if (key === undefined) {
      key = storageKey(this.name, id)
      this.keys.set(id, key)
    }
    return key
  }

  touched (key: string): number {
    return this.touchedAt.get(key) ?? 0
  }

  markTouched (key: string, now: number): void {
    this.touchedAt.set(key, now)
  }

  /**
   * The cookie's Max-Age in seconds: the session's remaining absolute lifetime (its own maxAge
   * included), capped by the cookie's own when it has one.
   */
  cookieAge (stamp: Stamp | null, now: number): number | null {
    if (this.cookieMaxAge === null) return null
    const remaining = stamp === null || stamp.expires === null ? null : Math.max(0, Math.ceil((stamp.expires - now) / 1000))
    if (this.cookieMaxAge !== undefined) return remaining === null ? this.cookieMaxAge : Math.min(this.cookieMaxAge, remaining)
    return remaining ?? (this.maxAge === null ? null : this.maxAge / 1000)
  }
}

function checkName (name: unknown, label: string): string {
  if (typeof name !== 'string' || !isToken(name)) {
    throw optionsError(label, 'the name must be a non-empty token (letters, digits and !#$%&\'*+.^_`|~-)')
  }
  return name
}

function checkSchema (schema: unknown, label: string): TSchema {
  if (typeof schema !== 'object' || schema === null) {
    throw optionsError(label, 'a TypeBox schema for the payload is required')
  }
  return schema as TSchema
}

interface CommonChecked {
  storage?: { compareAndWrite?: unknown }
  envelope?: boolean
  maxAge?: number | null
  maxAgeLimit?: number | null
  identity?: unknown
  idPattern?: unknown
  idleTimeout?: number | null
  concurrency?: string
  transformers?: ReadonlyArray<{ malleablePrefix?: number }>
}

function checkCommon (options: CommonChecked, label: string): void {
  if (options.concurrency === 'reject' && typeof options.storage?.compareAndWrite !== 'function') {
    throw optionsError(label, 'concurrency: \'reject\' needs a server-side storage with compareAndWrite')
  }
  if (options.idPattern !== undefined && !(options.idPattern instanceof RegExp)) {
    throw optionsError(label, 'idPattern must be a RegExp')
  }
  if (options.identity !== undefined && options.idPattern === undefined) {
    throw optionsError(label, 'a custom identity needs idPattern, the form of the ids it makes')
  }
  if (options.storage === undefined && (options.identity !== undefined || options.idPattern !== undefined)) {
    throw optionsError(label, 'identity and idPattern are for server-side sessions (with a storage)')
  }
  if (options.storage !== undefined && options.envelope === false) {
    throw optionsError(label, 'envelope: false is for client-side sessions; server-side ones keep their times in the storage')
  }
  const malleable = Math.max(0, ...(options.transformers ?? []).map((t) => t.malleablePrefix ?? 0))
  if (options.storage === undefined && options.envelope !== false && malleable > ENVELOPE_HEAD.length) {
    throw optionsError(label, `a transformer lets the first ${malleable} bytes be rewritten; the envelope keeps only ${ENVELOPE_HEAD.length} constant`)
  }
  if (options.storage === undefined && options.envelope !== false && options.maxAge === null) {
    throw optionsError(label, 'a client-side session needs a maxAge: it cannot be revoked, so without one a copied value would be valid forever (envelope: false, for Ktor compatibility, allows maxAge: null)')
  }
  const maxAge = options.maxAge === undefined ? DEFAULT_MAX_AGE : options.maxAge
  if (options.maxAgeLimit != null && (maxAge === null || options.maxAgeLimit < maxAge)) {
    throw optionsError(label, 'maxAgeLimit must be at least maxAge: it is the longest lifetime a session may have')
  }
  if (options.envelope === false && options.idleTimeout != null) {
    throw optionsError(label, 'idleTimeout needs the envelope: without it the server cannot tell when a value was last used')
  }
}

// Attributes the plugin writes itself: an extension of the same name would give the browser two.
const WRITTEN_ATTRIBUTES = new Set(['path', 'domain', 'secure', 'httponly', 'samesite', 'max-age', 'expires'])

function cookieAttributes (name: string, cookie: CookieOptions, label: string): ConstructorParameters<typeof CookieTransport>[1] {
  // Browsers match the prefixes case-insensitively (RFC 6265bis): `__HOST-` is held to them too.
  const lower = name.toLowerCase()
  const hostPrefix = lower.startsWith('__host-')
  const securePrefix = hostPrefix || lower.startsWith('__secure-')
  const secure = cookie.secure ?? (securePrefix ? true : 'auto')
  const path = cookie.path ?? '/'
  if (securePrefix && secure !== true) {
    throw optionsError(label, `a ${hostPrefix ? '__Host-' : '__Secure-'} cookie must be Secure: set cookie.secure to true`)
  }
  if (hostPrefix && (path !== '/' || cookie.domain !== undefined)) {
    throw optionsError(label, 'a __Host- cookie needs path "/" and no domain')
  }
  if (!path.startsWith('/') || !isAttributeValue(path)) {
    throw optionsError(label, 'cookie.path must start with "/" and hold no ";", control or non-ASCII characters')
  }
  if (cookie.domain !== undefined && !/^\.?[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(cookie.domain)) {
    throw optionsError(label, 'cookie.domain must be a host name')
  }
  if (cookie.sameSite === 'none' && secure === false) {
    throw optionsError(label, 'browsers refuse SameSite=None without Secure: set cookie.secure to true or \'auto\'')
  }
  for (const [key, value] of Object.entries(cookie.extensions ?? {})) {
    if (!isToken(key) || (value !== null && !isAttributeValue(value))) {
      throw optionsError(label, `cookie.extensions.${key} is not a valid cookie attribute`)
    }
    if (WRITTEN_ATTRIBUTES.has(key.toLowerCase())) {
      throw optionsError(label, `cookie.extensions.${key} repeats an attribute the plugin writes: use the cookie option instead`)
    }
  }
  return {
    path,
    domain: cookie.domain,
    secure,
    httpOnly: cookie.httpOnly ?? true,
    sameSite: cookie.sameSite ?? 'lax',
    encoding: cookie.encoding ?? 'uri',
    extensions: cookie.extensions,
  }
}

/**
 * A session carried by a cookie. With `storage` it is server-side (the cookie holds an id);
 * without, the serialized payload travels in the cookie through the transformers.
 */
export function cookieSession<S extends TSchema> (name: string, schema: S, options?: CookieSessionOptions<Static<S>>): SessionProvider<Static<S>> {
  const label = `cookieSession(${JSON.stringify(String(name))})`
  checkName(name, label)
  const opts = parseOptions(CookieSessionOptionsSchema, options, label) as CookieSessionOptions<Static<S>>
  checkCommon(opts, label)
  checkLifetimes(opts, label)
  // The caller's serializer: options are copied, and the check asks whether jsonSerializer made it.
  checkEncoding({ ...opts, serializer: options?.serializer }, checkSchema(schema, label), label)
  const carrier = new CookieTransport(name, cookieAttributes(name, opts.cookie ?? {}, label))
  return new Provider<Static<S>>(name, checkSchema(schema, label), carrier, opts)
}

/**
 * A session carried by a request and response header, for clients that are not browsers. With
 * `storage` the header holds an id; without, the payload itself.
 */
export function headerSession<S extends TSchema> (name: string, schema: S, options?: HeaderSessionOptions<Static<S>>): SessionProvider<Static<S>> {
  const label = `headerSession(${JSON.stringify(String(name))})`
  checkName(name, label)
  checkHeaderName(name, label)
  const opts = parseOptions(HeaderSessionOptionsSchema, options, label) as HeaderSessionOptions<Static<S>>
  checkCommon(opts, label)
  checkLifetimes(opts, label)
  return new Provider<Static<S>>(name, checkSchema(schema, label), new HeaderTransport(name), opts)
}

/** The provider behind a public handle, or an options error for objects our factories did not make. */
export function providerOf (value: unknown): Provider {
  if (value instanceof Provider) return value
  throw new FST_SESSIONS_OPTIONS('providers must be made by cookieSession() or headerSession()')
}
