// The times a session carries with its payload, and the client-side envelope around it.
//
// Client-side, version 2:  2:fixed-block16:<provider name>:<created>:<last seen>:<expires>:<serialized payload>
// Times are epoch milliseconds in base 36 (8 characters today); an empty expiry means none.
// The transformers protect the whole string, so a client can neither move the expiry nor
// replay a value minted for another provider: provider names are tokens, which never hold ':'.
//
// The first 16 bytes are a constant, the same for every provider, checked on read. Ktor's Encrypt
// does not authenticate its IV, so whoever holds a value can rewrite the first 16 bytes of its
// plaintext at will: those bytes must hold nothing a reader trusts, not even the provider name.
// Version 1 (`1:<provider name>:<created>:...`) put the name and the times there; it is still
// read, for providers whose transformers authenticate all of it (see `legacyPrefix`).

export interface Stamp {
  /** When the session was first set. */
  created: number
  /** The last request that carried it, as of the last write or refresh. */
  seen: number
  /** The absolute expiry, or null for none. */
  expires: number | null
}

/** The constant first 16 bytes of a version 2 envelope. */
export const ENVELOPE_HEAD = '2:fixed-block16:'
const LEGACY_VERSION = '1:'

const DIGITS = '0123456789abcdefghijklmnopqrstuvwxyz'
const PAIRS: readonly string[] = Array.from({ length: 36 * 36 }, (_, i) => (DIGITS[Math.floor(i / 36)] as string) + DIGITS[i % 36])

/** `n.toString(36)`, two digits at a time for the non-negative safe integers that times are (4.6x faster: bench/micro/base36.ts). */
export function base36 (n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) return n.toString(36)
  let out = ''
  while (n >= 1296) {
    const q = Math.floor(n / 1296)
    out = (PAIRS[n - q * 1296] as string) + out
    n = q
  }
  return (n < 36 ? DIGITS[n] as string : PAIRS[n] as string) + out
}

export function formatStamp (stamp: Stamp): string {
  return base36(stamp.created) + ':' + base36(stamp.seen) + ':' +
    (stamp.expires === null ? '' : base36(stamp.expires))
}

// A strict base-36 field of 1 to 11 digits: parseInt would accept trailing junk.
function parseTime (text: string, from: number, to: number): number {
  if (to <= from || to - from > 11) return -1
  let n = 0
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i)
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 122 ? c - 87 : -1
    if (d < 0) return -1
    n = n * 36 + d
  }
  return n
}

export interface Stamped {
  stamp: Stamp
  /** What follows the stamp and its ':'. */
  rest: string
}

/** Reads `created:seen:expires:` starting at `from`; null when malformed. */
export function parseStamp (text: string, from: number): Stamped | null {
  const a = text.indexOf(':', from)
  if (a < 0) return null
  const b = text.indexOf(':', a + 1)
  if (b < 0) return null
  const c = text.indexOf(':', b + 1)
  if (c < 0) return null
  const created = parseTime(text, from, a)
  const seen = parseTime(text, a + 1, b)
  const expires = c === b + 1 ? null : parseTime(text, b + 1, c)
  if (created < 0 || seen < 0 || expires === -1) return null
  return { stamp: { created, seen, expires }, rest: text.slice(c + 1) }
}

/** The constant start of every envelope a provider writes. */
export function envelopePrefix (providerName: string): string {
  return ENVELOPE_HEAD + providerName + ':'
}

/** The start of a provider's version 1 envelopes, written by releases before the fixed head. */
export function legacyPrefix (providerName: string): string {
  return LEGACY_VERSION + providerName + ':'
}

export function sealEnvelope (prefix: string, stamp: Stamp, payload: string): string {
  return prefix + formatStamp(stamp) + ':' + payload
}

// `1:<token>:`, the start of any version 1 envelope.
const LEGACY_START = /^1:[!#$%&'*+.^_`|~0-9A-Za-z-]+:/

/** True for text that starts as an envelope of either version does, whatever the provider. */
export function looksLikeEnvelope (text: string): boolean {
  return text.startsWith(ENVELOPE_HEAD) || LEGACY_START.test(text)
}

/**
 * The stamp and payload, or why the envelope is refused. `legacy` is the provider's version 1
 * prefix when it still reads that format, or null.
 */
export function openEnvelope (prefix: string, legacy: string | null, text: string): Stamped | 'malformed' | 'wrong-provider' {
  if (text.startsWith(prefix)) return parseStamp(text, prefix.length) ?? 'malformed'
  if (legacy !== null && text.startsWith(legacy)) return parseStamp(text, legacy.length) ?? 'malformed'
  return text.startsWith(ENVELOPE_HEAD) || (legacy !== null && LEGACY_START.test(text)) ? 'wrong-provider' : 'malformed'
}
