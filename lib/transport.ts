import { decodeCookieValue, encodeCookieValue, type CookieEncoding } from './cookie-encoding.js'

// How a session value travels: a cookie or a header. Everything that does not change per request
// (attribute suffixes, the clearing line) is rendered once here.

export interface CookieAttributes {
  path: string
  domain?: string | undefined
  secure: boolean | 'auto'
  httpOnly: boolean
  sameSite: 'lax' | 'strict' | 'none' | false
  encoding: CookieEncoding
  extensions?: Record<string, string | null> | undefined
}

const SAME_SITE = { lax: 'Lax', strict: 'Strict', none: 'None' } as const
const EPOCH = 'Thu, 01 Jan 1970 00:00:00 GMT'
// Ktor's (and most browsers') ceiling for Max-Age: 2^31 - 1 seconds, about 68 years.
const MAX_AGE_LIMIT = 2147483647

/** What a cookie needs of the request it answers. */
export interface CookieRequest {
  protocol: string
  log: { warn: (context: object, message: string) => void }
}

export class CookieTransport {
  readonly kind = 'cookie'
  readonly vary = 'Cookie'
  readonly name: string
  readonly secure: boolean | 'auto'
  readonly encoding: CookieEncoding
  // Attributes after Max-Age/Expires, in Ktor's order, without and with Secure.
  private readonly suffix: string
  private readonly secureSuffix: string
  private expiresAt = -1
  private expiresText = ''
  private warnedInsecure = false

  constructor (name: string, attributes: CookieAttributes) {
    this.name = name
    this.secure = attributes.secure
    this.encoding = attributes.encoding
    const head = attributes.domain === undefined ? '' : '; Domain=' + attributes.domain
    const path = '; Path=' + attributes.path
    let tail = attributes.httpOnly ? '; HttpOnly' : ''
    if (attributes.sameSite !== false) tail += '; SameSite=' + SAME_SITE[attributes.sameSite]
    for (const [key, value] of Object.entries(attributes.extensions ?? {})) {
      tail += value === null || value === '' ? '; ' + key : '; ' + key + '=' + value
    }
    this.suffix = head + path + tail
    this.secureSuffix = head + path + '; Secure' + tail
  }

  decode (raw: string): string | null {
    return decodeCookieValue(raw, this.encoding)
  }

  /** Throws a plain Error when the encoding cannot carry the value. */
  encode (value: string): string {
    return encodeCookieValue(value, this.encoding)
  }

  /** What browsers count against their 4096-byte limit. */
  size (encoded: string): number {
    return this.name.length + 1 + Buffer.byteLength(encoded, 'latin1')
  }

  /**
   * Whether the cookie sent in answer to `request` carries Secure. `secure: true` over plain http
   * makes a cookie that browsers drop (localhost aside): said once, in the log.
   */
  secureFor (request: CookieRequest): boolean {
    if (this.secure === 'auto') return request.protocol === 'https'
    if (this.secure && !this.warnedInsecure && request.protocol !== 'https') {
      this.warnedInsecure = true
      request.log.warn({ session: this.name }, `session "${this.name}" has a Secure cookie on a plain http request: browsers drop it (except on localhost); serve https, trust the TLS proxy (trustProxy), or use secure: 'auto'`)
    }
    return this.secure
  }

  /** The Set-Cookie line; `maxAge` null makes a browser-session cookie. Max-Age is capped as Ktor caps it. */
  line (encoded: string, maxAge: number | null, now: number, secure: boolean): string {
    let out = this.name + '=' + encoded
    if (maxAge !== null) {
      const age = Math.min(maxAge, MAX_AGE_LIMIT)
      out += '; Max-Age=' + age + '; Expires=' + this.expires(now + age * 1000)
    }
    return out + (secure ? this.secureSuffix : this.suffix)
  }

  clearLine (secure: boolean): string {
    return this.name + '=; Max-Age=0; Expires=' + EPOCH + (secure ? this.secureSuffix : this.suffix)
  }

  // HTTP dates have one-second resolution: render each second once.
  private expires (at: number): string {
    const second = Math.floor(at / 1000)
    if (second !== this.expiresAt) {
      this.expiresAt = second
      this.expiresText = new Date(second * 1000).toUTCString()
    }
    return this.expiresText
  }
}

export class HeaderTransport {
  readonly kind = 'header'
  readonly name: string
  /** Node's lowercase spelling, for reading request headers. */
  readonly lowerName: string
  readonly vary: string

  constructor (name: string) {
    this.name = name
    this.lowerName = name.toLowerCase()
    this.vary = name
  }
}

export type Transport = CookieTransport | HeaderTransport

// RFC 9110 token: what cookie names and header names are made of.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

export function isToken (text: string): boolean {
  return TOKEN.test(text)
}

/** Attribute values must not end the attribute or the header. */
export function isAttributeValue (text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[;\x00-\x1f\x7f]/.test(text) && !/[^\x20-\x7e]/.test(text)
}

function isBlank (c: number): boolean {
  return c === 32 || c === 9
}

/**
 * The first value of cookie `name` in a Cookie header, undecoded (the first is the most
 * specific path, RFC 6265 §5.4), or undefined. Scans for one name instead of building an object
 * of every cookie the browser sent.
 */
export function readCookie (header: string, name: string): string | undefined {
  const len = header.length
  let start = 0
  while (start < len) {
    let end = header.indexOf(';', start)
    if (end < 0) end = len
    while (start < end && isBlank(header.charCodeAt(start))) start++
    if (header.startsWith(name, start)) {
      let eq = start + name.length
      while (eq < end && isBlank(header.charCodeAt(eq))) eq++
      if (eq < end && header.charCodeAt(eq) === 61) {
        let from = eq + 1
        let to = end
        while (from < to && isBlank(header.charCodeAt(from))) from++
        while (to > from && isBlank(header.charCodeAt(to - 1))) to--
        return header.slice(from, to)
      }
    }
    start = end + 1
  }
  return undefined
}
