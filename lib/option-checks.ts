import type { TSchema } from 'typebox'
import { isAttributeValue, isToken } from './cookie-syntax.js'
import { ENVELOPE_HEAD } from './envelope.js'
import { optionsError } from './options.js'
import type { ParsedCookieOptions } from './provider-options.js'
import { isJsonSerializer } from './serializer.js'
import type { CookieAttributes } from './transport.js'

// Provider configurations that pass the options schema but cannot work, or work insecurely: each
// is refused when the provider is made (FST_SESSIONS_OPTIONS), not discovered at a request.

/** Ten years: a lifetime above this was almost surely given in milliseconds. */
export const MAX_SECONDS = 10 * 365 * 24 * 60 * 60

interface Lifetimes {
  maxAge?: number | null
  maxAgeLimit?: number | null
  idleTimeout?: number | null
  cookie?: { maxAge?: number | null }
}

export function checkLifetimes (options: Lifetimes, label: string): void {
  for (const [option, value] of [['maxAge', options.maxAge], ['maxAgeLimit', options.maxAgeLimit], ['idleTimeout', options.idleTimeout], ['cookie.maxAge', options.cookie?.maxAge]] as const) {
    if (typeof value === 'number' && value > MAX_SECONDS) throw optionsError(label, tooLong(option, value))
  }
}

/** What a lifetime over ten years is told: almost surely milliseconds given by habit. */
export function tooLong (option: string, value: number): string {
  return `${option} is in seconds, not milliseconds: ${value} s is over ${Math.floor(value / (365 * 86400))} years, more than the 10 (${MAX_SECONDS} s) allowed; for ${Math.round(value / 1000)} s write ${option}: ${Math.round(value / 1000)}`
}

// Response headers a session header would clash with: framing, hop-by-hop, redirection, cookies,
// caching and authentication. The session's value would replace or corrupt them.
const MEANINGFUL_HEADERS = new Set([
  'set-cookie', 'cookie', 'location', 'refresh', 'content-type', 'content-length', 'content-encoding',
  'content-range', 'content-location', 'content-disposition', 'transfer-encoding', 'connection',
  'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer', 'host', 'date', 'cache-control',
  'vary', 'expires', 'pragma', 'age', 'etag', 'last-modified', 'www-authenticate', 'proxy-authenticate',
  'strict-transport-security', 'content-security-policy', 'clear-site-data', 'alt-svc',
])

export function checkHeaderName (name: string, label: string): void {
  const lower = name.toLowerCase()
  if (MEANINGFUL_HEADERS.has(lower) || lower.startsWith('access-control-')) {
    throw optionsError(label, `"${name}" is a header with a meaning of its own in responses: name the session header something else, such as X-Session`)
  }
}

interface Encoded {
  storage?: unknown
  serializer?: unknown
  transformers?: ReadonlyArray<{ transformWrite: (value: string) => string }>
  cookie?: { encoding?: string }
}

// JSON types whose text never holds a quote.
const QUOTELESS = new Set(['number', 'integer', 'boolean', 'null'])

/**
 * `dquotes` cannot carry `"` (nor can Ktor's DQUOTES), and JSON objects, arrays of strings and
 * strings always hold some: every `set` would fail. Refused for a client-side JSON payload unless
 * the transformers turn it into text without quotes (encrypt, ktorEncrypt), which a probe
 * through them tells.
 */
export function checkEncoding (options: Encoded, schema: TSchema, label: string): void {
  if (options.cookie?.encoding !== 'dquotes' || options.storage !== undefined) return
  if (options.serializer !== undefined && !isJsonSerializer(options.serializer)) return
  const type = (schema as { type?: unknown }).type
  if (typeof type === 'string' && QUOTELESS.has(type)) return
  let probe = '{"":""}'
  try {
    for (const transformer of options.transformers ?? []) probe = transformer.transformWrite(probe)
  } catch {
    return
  }
  if (probe.includes('"')) {
    throw optionsError(label, 'cookie.encoding \'dquotes\' cannot carry the quotes of a JSON payload: use \'uri\' (the default), or encrypt() the value')
  }
}

export function checkName (name: unknown, label: string): string {
  if (typeof name !== 'string' || !isToken(name)) {
    throw optionsError(label, 'the name must be a non-empty token (letters, digits and !#$%&\'*+.^_`|~-)')
  }
  return name
}

export function checkSchema (schema: unknown, label: string): TSchema {
  if (typeof schema !== 'object' || schema === null) {
    throw optionsError(label, 'a TypeBox schema for the payload is required')
  }
  return schema as TSchema
}

interface CommonChecked {
  storage?: { compareAndWrite?: unknown }
  envelope: boolean
  maxAge: number | null
  maxAgeLimit?: number | null
  identity?: unknown
  idPattern?: unknown
  idleTimeout: number | null
  concurrency: string
  transformers: ReadonlyArray<{ malleablePrefix?: number }>
}

export function checkCommon (options: CommonChecked, label: string): void {
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
  const malleable = Math.max(0, ...options.transformers.map((t) => t.malleablePrefix ?? 0))
  if (options.storage === undefined && options.envelope !== false && malleable > ENVELOPE_HEAD.length) {
    throw optionsError(label, `a transformer lets the first ${malleable} bytes be rewritten; the envelope keeps only ${ENVELOPE_HEAD.length} constant`)
  }
  if (options.storage === undefined && options.envelope !== false && options.maxAge === null) {
    throw optionsError(label, 'a client-side session needs a maxAge: it cannot be revoked, so without one a copied value would be valid forever (envelope: false, for Ktor compatibility, allows maxAge: null)')
  }
  if (options.maxAgeLimit != null && (options.maxAge === null || options.maxAgeLimit < options.maxAge)) {
    throw optionsError(label, 'maxAgeLimit must be at least maxAge: it is the longest lifetime a session may have')
  }
  if (options.envelope === false && options.idleTimeout != null) {
    throw optionsError(label, 'idleTimeout needs the envelope: without it the server cannot tell when a value was last used')
  }
}

// Attributes the plugin writes itself: an extension of the same name would give the browser two.
const WRITTEN_ATTRIBUTES = new Set(['path', 'domain', 'secure', 'httponly', 'samesite', 'max-age', 'expires', 'partitioned', 'priority'])

/** The checked cookie attributes; the cookie's Max-Age follows the session's `maxAge` (seconds) unless set. */
export function cookieAttributes (name: string, cookie: ParsedCookieOptions, sessionMaxAge: number | null, label: string): CookieAttributes {
  // Browsers match the prefixes case-insensitively (RFC 6265bis): `__HOST-` is held to them too.
  const lower = name.toLowerCase()
  const hostPrefix = lower.startsWith('__host-')
  const securePrefix = hostPrefix || lower.startsWith('__secure-')
  const secure = cookie.secure ?? (securePrefix ? true : 'auto')
  const path = cookie.path
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
  if (cookie.partitioned === true && secure !== true) {
    throw optionsError(label, 'browsers refuse a Partitioned cookie without Secure: set cookie.secure to true with cookie.partitioned')
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
    httpOnly: cookie.httpOnly,
    sameSite: cookie.sameSite,
    encoding: cookie.encoding,
    extensions: cookie.extensions,
    partitioned: cookie.partitioned === true,
    priority: cookie.priority,
    maxAge: cookie.maxAge,
    sessionMaxAge,
  }
}
