import { decodeQuery } from './cookie-encoding.js'

// The text layer of Ktor's session format: Ktor's URL codecs (ktor-http Codecs.kt), its query
// string parser, and Kotlin's number forms.

const INT_MIN = -2147483648
const INT_MAX = 2147483647
const LONG_MIN = -(2n ** 63n)
const LONG_MAX = 2n ** 63n - 1n
const QUERY_LIMIT = 1000
const INTEGER_TEXT = /^[+-]?\d+$/
// Linear: `\d+\.?\d*` would backtrack quadratically on a long run of digits that fails to match.
export const DECIMAL_TEXT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/
export const DOUBLE_TEXT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?[fFdD]?$/

/** Whether an integer is beyond Kotlin's Int (written as a Long). */
export function beyondInt (n: number): boolean {
  return n < INT_MIN || n > INT_MAX
}

/**
 * `encodeURLQueryComponent(encodeFull = false, spaceToPlus = false)`: keeps letters, digits and
 * `:/?#[]@!$&'()*,;=-._~+`; `encodeURI` keeps the same set except `[` and `]`.
 */
export function encodeQueryComponent (value: string): string {
  return encodeURI(value).replace(/%5B|%5D/g, (m) => m === '%5B' ? '[' : ']')
}

/** `decodeURLQueryComponent(plusIsSpace)`: throws on a truncated or non-hex escape, as Ktor does. */
export function decodeQueryComponent (text: string, plusIsSpace: boolean): string {
  const out = decodeQuery(text, plusIsSpace)
  if (out === null) throw new Error('bad escape')
  return out
}

const WHITESPACE = /\s/

/**
 * Ktor's `parseQueryString`: at most 1000 pairs, names and values trimmed, names decoded without
 * and values with `+` as space; a name without `=` has no value. Names are case-insensitive and
 * the first value of a name wins, as `Parameters.get` gives it.
 */
export function parseQuery (text: string): Map<string, { name: string, value: string }> {
  const out = new Map<string, { name: string, value: string }>()
  let count = 0
  let start = 0
  while (start <= text.length && count < QUERY_LIMIT) {
    let end = text.indexOf('&', start)
    if (end < 0) end = text.length
    const eq = text.indexOf('=', start)
    if (eq >= 0 && eq < end) {
      const name = decodeQueryComponent(trim(text.slice(start, eq)), false)
      const value = decodeQueryComponent(trim(text.slice(eq + 1, end)), true)
      const key = name.toLowerCase()
      if (name.length > 0 && !out.has(key)) out.set(key, { name, value })
    }
    count++
    start = end + 1
  }
  return out
}

function trim (text: string): string {
  let a = 0
  let b = text.length
  while (a < b && WHITESPACE.test(text[a] as string)) a++
  while (b > a && WHITESPACE.test(text[b - 1] as string)) b--
  return text.slice(a, b)
}

/** Kotlin/Java `Double.toString` (JDK 19+): `3.0`, `0.001`, `1.0E7`, `1.0E-4`, shortest round-trip digits. */
export function kotlinDouble (x: number): string {
  if (Number.isNaN(x)) return 'NaN'
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity'
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0'
  const sign = x < 0 ? '-' : ''
  const abs = Math.abs(x)
  const [mantissa = '', exponent = '0'] = abs.toExponential().split('e')
  const digits = mantissa.replace('.', '')
  const exp = Number(exponent)
  if (abs >= 1e-3 && abs < 1e7) {
    if (exp < 0) return sign + '0.' + '0'.repeat(-exp - 1) + digits
    const whole = digits.slice(0, exp + 1).padEnd(exp + 1, '0')
    const fraction = digits.slice(exp + 1)
    return sign + whole + '.' + (fraction === '' ? '0' : fraction)
  }
  // The d.ddd form shows two digits at least, and Java picks the two closest to the exact value:
  // Double.MIN_VALUE is 4.9E-324 where the shortest digits give 5E-324.
  const shown = digits.length > 1 ? digits : (abs.toExponential(1).split('e')[0] as string).replace('.', '')
  return sign + shown[0] + '.' + shown.slice(1) + 'E' + (digits.length > 1 ? exp : Number(abs.toExponential(1).split('e')[1]))
}

export function readInt (text: string): number {
  if (!INTEGER_TEXT.test(text)) throw new Error('bad #i value')
  const n = Number(text)
  if (n < INT_MIN || n > INT_MAX) throw new Error('#i value out of range')
  return n
}

export function readLong (text: string): number {
  if (!INTEGER_TEXT.test(text)) throw new Error('bad integer value')
  const big = BigInt(text)
  if (big < LONG_MIN || big > LONG_MAX) throw new Error('integer out of range')
  const n = Number(big)
  if (!Number.isSafeInteger(n)) throw new Error('integer beyond 2^53, which a JavaScript number cannot hold exactly')
  return n
}

export function readDouble (text: string, grammar: RegExp): number {
  const trimmed = trim(text)
  if (!grammar.test(trimmed)) throw new Error('bad number value')
  const n = Number.parseFloat(trimmed)
  if (!Number.isFinite(n)) throw new Error('number out of range')
  return n
}
