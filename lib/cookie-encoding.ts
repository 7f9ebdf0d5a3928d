// Ktor's four cookie value encodings (CookieEncoding in ktor-http). Encoding happens on write and
// may refuse a value; decoding happens on read and never throws: `null` means "not readable".

export type CookieEncoding = 'uri' | 'base64' | 'dquotes' | 'raw'

const URI_EXTRA = /[!'()*]|%20/g
const URI_EXTRA_MAP: Record<string, string> = { '!': '%21', "'": '%27', '(': '%28', ')': '%29', '*': '%2A', '%20': '+' }
const URI_EXTRA_INPUT = /[!'()* ]/

/**
 * Ktor 2.2+ `encodeURLParameter(spaceToPlus = true)`: keeps `A-Z a-z 0-9 - . _ ~`, writes a space
 * as `+` and every other UTF-8 byte as uppercase `%XX`. `encodeURIComponent` differs only on
 * `! ' ( ) *` and the space; lone surrogates (which it throws on) are refused by the caller.
 */
export function encodeUri (value: string): string {
  const encoded = encodeURIComponent(value)
  // Most values hold none of those characters: skip the second pass over the longer output.
  return URI_EXTRA_INPUT.test(value) ? encoded.replace(URI_EXTRA, (m) => URI_EXTRA_MAP[m] as string) : encoded
}

function hexValue (c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 65 && c <= 70) return c - 55
  if (c >= 97 && c <= 102) return c - 87
  return -1
}

/**
 * Ktor's `decodeURLQueryComponent(plusIsSpace)`: `%` runs decode as UTF-8 with U+FFFD for invalid
 * sequences; a truncated or non-hex escape makes the text unreadable (null).
 */
export function decodeQuery (text: string, plusIsSpace: boolean): string | null {
  const spaced = plusIsSpace && text.indexOf('+') !== -1 ? text.replaceAll('+', ' ') : text
  if (text.indexOf('%') === -1) return spaced
  // The native decoder gives the same string for well-formed escapes of valid UTF-8, ten times
  // faster; it throws on anything else, which the byte-wise reading below then decides.
  try {
    return decodeURIComponent(spaced)
  } catch {
    // not well-formed: read it byte by byte
  }
  let out = ''
  let i = 0
  while (i < text.length) {
    const c = text.charCodeAt(i)
    if (c === 37) { // %
      const bytes: number[] = []
      while (i < text.length && text.charCodeAt(i) === 37) {
        if (i + 2 >= text.length) return null
        const hi = hexValue(text.charCodeAt(i + 1))
        const lo = hexValue(text.charCodeAt(i + 2))
        if (hi < 0 || lo < 0) return null
        bytes.push(hi * 16 + lo)
        i += 3
      }
      out += Buffer.from(bytes).toString('utf8')
    } else {
      out += plusIsSpace && c === 43 ? ' ' : text[i]
      i++
    }
  }
  return out
}

/** Reads what every Ktor version wrote with URI_ENCODING (alphanumeric-only, 2.1.3's, 2.2+). */
export function decodeUri (text: string): string | null {
  return decodeQuery(text, true)
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/**
 * Standard base64 with padding, strict on read (Node's decoder would skip bad characters); the
 * unused bits before the padding must be zero, as Kotlin's Base64 requires, so a value has one
 * spelling only.
 */
export function decodeBase64 (text: string): string | null {
  if (!BASE64.test(text)) return null
  const bytes = Buffer.from(text, 'base64')
  if (bytes.toString('base64') !== text) return null
  return bytes.toString('utf8')
}

// RFC 6265 cookie-octet: what may stand in a cookie value without quoting.
function isCookieOctet (c: number): boolean {
  return c === 0x21 || (c >= 0x23 && c <= 0x2B) || (c >= 0x2D && c <= 0x3A) ||
    (c >= 0x3C && c <= 0x5B) || (c >= 0x5D && c <= 0x7E)
}

function allCookieOctets (value: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isCookieOctet(value.charCodeAt(i))) return false
  return true
}

/**
 * Encodes a transport value for a cookie. Throws (a plain Error the plugin reports as an invalid
 * payload) when the encoding cannot carry the value: `raw` refuses anything outside RFC 6265's
 * cookie-octets, which would inject attributes; `dquotes` refuses `"`, `;`, `\` and control characters.
 */
export function encodeCookieValue (value: string, encoding: CookieEncoding): string {
  switch (encoding) {
    case 'uri':
      try {
        return encodeUri(value)
      } catch {
        throw new Error('the value holds an unpaired surrogate, which UTF-8 cannot carry')
      }
    case 'base64':
      return Buffer.from(value, 'utf8').toString('base64')
    case 'dquotes': {
      for (let i = 0; i < value.length; i++) {
        const c = value.charCodeAt(i)
        // Browsers end a value at ';' quotes or not: it would start an attribute.
        if (c === 0x22 || c === 0x5C || c === 0x3B || c < 0x20 || c === 0x7F || c > 0x7E) {
          throw new Error('the dquotes cookie encoding cannot carry quotes, semicolons, backslashes, control or non-ASCII characters')
        }
      }
      return allCookieOctets(value, 0, value.length) ? value : '"' + value + '"'
    }
    case 'raw':
      if (!allCookieOctets(value, 0, value.length)) {
        throw new Error('the raw cookie encoding cannot carry spaces, quotes, commas, semicolons, backslashes, control or non-ASCII characters')
      }
      return value
  }
}

/** Decodes a cookie value as sent by the client; `null` when it cannot be read in this encoding. */
export function decodeCookieValue (text: string, encoding: CookieEncoding): string | null {
  switch (encoding) {
    case 'uri':
      return decodeUri(text)
    case 'base64':
      return decodeBase64(text)
    case 'dquotes':
      if (text.length >= 2 && text.charCodeAt(0) === 0x22 && text.charCodeAt(text.length - 1) === 0x22) {
        return text.slice(1, -1)
      }
      return text
    case 'raw':
      return text
  }
}
