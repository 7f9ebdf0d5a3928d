import type { IncomingHttpHeaders } from 'node:http'
import type { FastifyReply } from 'fastify'
import { decodeCookieValue, encodeCookieValue, type CookieEncoding } from './cookie-encoding.js'
import { readCookie } from './cookie-syntax.js'
import { FST_SESSIONS_INVALID_PAYLOAD, FST_SESSIONS_TOO_LARGE } from './errors.js'

// How a session value travels: a cookie or a header. The rest of the plugin sees only the
// `Transport` interface; everything that does not change per request (attribute suffixes, the
// clearing line) is rendered once, when the provider is made.

/** What a transport needs of the request it answers. */
export interface CookieRequest {
  protocol: string
  /** The request's headers: a chunked cookie expires the chunks the client holds and no longer needs. */
  headers?: IncomingHttpHeaders
  log: { warn: (context: object, message: string) => void }
}

/** One way for a session value to travel between client and server. */
export interface Transport {
  readonly kind: 'cookie' | 'header'
  /** The cookie or header name: the provider's name. */
  readonly name: string
  /** What a response that depends on this session varies on. */
  readonly vary: string
  /** The raw value the request carries, or undefined. */
  read (headers: IncomingHttpHeaders): string | undefined
  /** The transport's own encoding undone, or null when the value cannot be one. */
  decode (raw: string): string | null
  /** The value as it travels; FST_SESSIONS_INVALID_PAYLOAD when the transport cannot carry it. */
  encode (value: string): string
  /** What `read` gives back for a value sent as `encoded`, when that is not `encoded` itself (chunked cookies). */
  sentBack?(encoded: string): string
  /** FST_SESSIONS_TOO_LARGE when a client-side value is past what clients keep. */
  checkSize (encoded: string): void
  /** Sends `value` (null: expires the client's) with an absolute `expires` (epoch ms) or none. */
  write (reply: FastifyReply, request: CookieRequest, value: string | null, expires: number | null, now: number): void
}

/** One session header to send: its transport, the value (null: expire the client's) and the session's absolute expiry. */
export type Outgoing = [Transport, string | null, number | null]

export interface CookieAttributes {
  path: string
  domain?: string | undefined
  secure: boolean | 'auto'
  httpOnly: boolean
  sameSite: 'lax' | 'strict' | 'none' | false
  encoding: CookieEncoding
  extensions?: Record<string, string | null> | undefined
  partitioned?: boolean | undefined
  priority?: 'low' | 'medium' | 'high' | undefined
  /** The cookie's own Max-Age in seconds: a number, null (browser session) or undefined (follow the session). */
  maxAge?: number | null | undefined
  /** The provider's maxAge in seconds, for a session with no expiry of its own. */
  sessionMaxAge?: number | null | undefined
}

const SAME_SITE = { lax: 'Lax', strict: 'Strict', none: 'None' } as const
const PRIORITY = { low: 'Low', medium: 'Medium', high: 'High' } as const
const EPOCH = 'Thu, 01 Jan 1970 00:00:00 GMT'
// Ktor's (and most browsers') ceiling for Max-Age: 2^31 - 1 seconds, about 68 years.
export const MAX_AGE_LIMIT = 2147483647
export const MAX_COOKIE_BYTES = 4096

export class CookieTransport implements Transport {
  readonly kind = 'cookie'
  readonly vary = 'Cookie'
  readonly name: string
  readonly secure: boolean | 'auto'
  readonly encoding: CookieEncoding
  // Attributes after Max-Age/Expires, in Ktor's order, without and with Secure.
  private readonly suffix: string
  private readonly secureSuffix: string
  private readonly maxAge: number | null | undefined
  private readonly sessionMaxAge: number | null
  private expiresAt = -1
  private expiresText = ''
  private warnedInsecure = false

  constructor (name: string, attributes: CookieAttributes) {
    this.name = name
    this.secure = attributes.secure
    this.encoding = attributes.encoding
    this.maxAge = attributes.maxAge
    this.sessionMaxAge = attributes.sessionMaxAge ?? null
    const head = attributes.domain === undefined ? '' : '; Domain=' + attributes.domain
    const path = '; Path=' + attributes.path
    let tail = attributes.httpOnly ? '; HttpOnly' : ''
    if (attributes.sameSite !== false) tail += '; SameSite=' + SAME_SITE[attributes.sameSite]
    if (attributes.partitioned === true) tail += '; Partitioned'
    if (attributes.priority !== undefined) tail += '; Priority=' + PRIORITY[attributes.priority]
    for (const [key, value] of Object.entries(attributes.extensions ?? {})) {
      tail += value === null || value === '' ? '; ' + key : '; ' + key + '=' + value
    }
    this.suffix = head + path + tail
    this.secureSuffix = head + path + '; Secure' + tail
  }

  read (headers: IncomingHttpHeaders): string | undefined {
    const header = headers.cookie
    return header === undefined ? undefined : readCookie(header, this.name)
  }

  decode (raw: string): string | null {
    return decodeCookieValue(raw, this.encoding)
  }

  encode (value: string): string {
    try {
      return encodeCookieValue(value, this.encoding)
    } catch (error) {
      throw new FST_SESSIONS_INVALID_PAYLOAD(this.name, (error as Error).message)
    }
  }

  checkSize (encoded: string): void {
    const size = this.size(encoded)
    if (size > MAX_COOKIE_BYTES) {
      throw new FST_SESSIONS_TOO_LARGE(this.name, `name=value is ${size} bytes, and browsers drop cookies over ${MAX_COOKIE_BYTES}: store less, split it over cookies with cookie.chunks, or use a server-side storage`)
    }
  }

  /** What browsers count against their 4096-byte limit. */
  size (encoded: string): number {
    return this.name.length + 1 + Buffer.byteLength(encoded, 'latin1')
  }

  write (reply: FastifyReply, request: CookieRequest, value: string | null, expires: number | null, now: number): void {
    const secure = this.secureFor(request)
    reply.header('set-cookie', value === null ? this.clearLine(secure) : this.line(value, this.age(expires, now), now, secure))
  }

  /**
   * The cookie's Max-Age in seconds: the session's remaining absolute lifetime, capped by the
   * cookie's own when it has one.
   */
  protected age (expires: number | null, now: number): number | null {
    if (this.maxAge === null) return null
    const remaining = expires === null ? null : Math.max(0, Math.ceil((expires - now) / 1000))
    if (this.maxAge !== undefined) return remaining === null ? this.maxAge : Math.min(this.maxAge, remaining)
    return remaining ?? this.sessionMaxAge
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

// What Node refuses in a header value (and would turn into a 500 when the response is sent).
const NOT_HEADER_SAFE = /[^\t\x20-\x7e\x80-\xff]/

export class HeaderTransport implements Transport {
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

  read (headers: IncomingHttpHeaders): string | undefined {
    const value = headers[this.lowerName]
    return Array.isArray(value) ? value[0] : value
  }

  decode (raw: string): string {
    return raw
  }

  encode (value: string): string {
    if (NOT_HEADER_SAFE.test(value)) {
      throw new FST_SESSIONS_INVALID_PAYLOAD(this.name, 'a header cannot carry control characters or characters above U+00FF; encrypt() sends base64url, or use a cookie session')
    }
    return value
  }

  // A header has no size limit of its own: servers and proxies set theirs.
  checkSize (): void {}

  write (reply: FastifyReply, _request: CookieRequest, value: string | null): void {
    reply.header(this.name, value ?? '')
  }
}
