import type { TSchema } from 'typebox'
import { optionsError } from './options.js'
import { isJsonSerializer } from './serializer.js'

// Provider configurations that pass the options schema but cannot work, or work insecurely: each
// is refused when the provider is made (FST_SESSIONS_OPTIONS), not discovered at a request.

/** Ten years: a lifetime above this was almost surely given in milliseconds. */
export const MAX_SECONDS = 10 * 365 * 24 * 60 * 60

interface Lifetimes {
  maxAge?: number | null
  idleTimeout?: number | null
  cookie?: { maxAge?: number | null }
}

export function checkLifetimes (options: Lifetimes, label: string): void {
  for (const [option, value] of [['maxAge', options.maxAge], ['idleTimeout', options.idleTimeout], ['cookie.maxAge', options.cookie?.maxAge]] as const) {
    if (typeof value === 'number' && value > MAX_SECONDS) {
      throw optionsError(label, `${option} is in seconds: ${value} s is over ${Math.floor(value / (365 * 86400))} years, more than the 10 (${MAX_SECONDS} s) allowed; was it milliseconds?`)
    }
  }
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
