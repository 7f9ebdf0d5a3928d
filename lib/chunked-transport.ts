import { maxHeaderSize as defaultMaxHeaderSize, type IncomingHttpHeaders } from 'node:http'
import type { FastifyReply } from 'fastify'
import { chunkName, frame, FRAME_BYTES, gatherChunks, isFramed, MAX_CHUNKS, openChunks, scanChunks, split } from './cookie-chunks.js'
import { readCookie } from './cookie-syntax.js'
import { FST_SESSIONS_DUPLICATE, FST_SESSIONS_TOO_LARGE } from './errors.js'
import { optionsError } from './options.js'
import { CookieTransport, MAX_AGE_LIMIT, MAX_COOKIE_BYTES, type CookieAttributes, type CookieRequest } from './transport.js'

// A cookie transport whose value may be split over cookie.chunks cookies (cookie-chunks.ts has
// the wire format). Every Set-Cookie line it writes, attributes included, stays within 4096
// bytes; chunks the client holds but the new value does not need are expired in the same response.

// The least room for a value a chunk must leave: less, and the attributes are the cookie.
const MIN_CHUNK_BYTES = 512

export class ChunkedCookieTransport extends CookieTransport {
  readonly chunks: number
  /** The bytes of value a chunk line has room for, for the longest chunk name and attributes. */
  readonly room: number
  private last: [encoded: string, pieces: string[], framed: string[] | null] | null = null

  constructor (name: string, attributes: CookieAttributes, chunks: number) {
    super(name, attributes)
    this.chunks = chunks
    // The longest attributes a line can carry: Max-Age at its cap, Expires, Secure.
    const attributeBytes = this.line('', MAX_AGE_LIMIT, 0, true).length - name.length - 1
    this.room = MAX_COOKIE_BYTES - attributeBytes - (chunkName(name, MAX_CHUNKS - 1).length + 1)
  }

  override read (headers: IncomingHttpHeaders): string | undefined {
    const header = headers.cookie
    if (header === undefined) return undefined
    const first = readCookie(header, this.name)
    return first === undefined || !isFramed(first) ? first : gatherChunks(first, header, this.name)
  }

  // Only for values the client-side cache does not know: the chunks are verified here.
  override decode (raw: string): string | null {
    if (!isFramed(raw)) return super.decode(raw)
    const joined = openChunks(raw, this.encoding)
    return joined === null ? null : super.decode(joined)
  }

  /** An encoded value cut into the pieces of its cookies (before the frame), remembered. */
  private cut (encoded: string): [encoded: string, pieces: string[], framed: string[] | null] {
    // `set` checks and remembers the value, onSend writes it: one split and one digest for all.
    if (this.last?.[0] === encoded) return this.last
    const pieces = encoded.length <= this.room && !isFramed(encoded)
      ? [encoded]
      : split(encoded, this.encoding, this.room - FRAME_BYTES, this.room)
    return (this.last = [encoded, pieces, null])
  }

  /** The values of the cookies an encoded value is written as, the frame included. */
  pieces (encoded: string): string[] {
    const cut = this.cut(encoded)
    return (cut[2] ??= frame(cut[1]))
  }

  /** What `read` gives for the cookies of `encoded`: the key of the values the client side remembers. */
  sentBack (encoded: string): string {
    return this.pieces(encoded).join('\n')
  }

  override checkSize (encoded: string): void {
    const count = this.cut(encoded)[1].length
    if (count > this.chunks) {
      throw new FST_SESSIONS_TOO_LARGE(this.name, `the value is ${encoded.length} bytes as encoded and needs ${count} cookies of 4096 bytes (attributes included), more than cookie.chunks (${this.chunks}) allows: raise cookie.chunks (at most ${MAX_CHUNKS}), store less, or use a server-side storage`)
    }
  }

  override write (reply: FastifyReply, request: CookieRequest, value: string | null, expires: number | null, now: number): void {
    const secure = this.secureFor(request)
    let sent = 1
    if (value === null) {
      reply.header('set-cookie', this.clearLine(secure))
    } else {
      const pieces = this.pieces(value)
      const age = this.age(expires, now)
      for (let i = 0; i < pieces.length; i++) reply.header('set-cookie', this.renamed(this.line(pieces[i] as string, age, now, secure), i))
      sent = pieces.length
    }
    // Chunks the client holds that the new value does not overwrite: expired now, not left to
    // be sent with every request until they expire.
    const header = request.headers?.cookie
    if (header === undefined) return
    const held = scanChunks(header, this.name)
    for (let i = sent; i < held.length; i++) {
      if (held[i] !== undefined) reply.header('set-cookie', this.renamed(this.clearLine(secure), i))
    }
  }

  // A line rendered for NAME, given to chunk `index`.
  private renamed (line: string, index: number): string {
    return index === 0 ? line : chunkName(this.name, index) + line.slice(this.name.length)
  }
}

/** The transport of a cookie session: chunked when cookie.chunks allows more than one cookie. */
export function cookieTransport (name: string, attributes: CookieAttributes, chunks: number, serverSide: boolean, label: string): CookieTransport {
  if (!Number.isInteger(chunks) || chunks < 1 || chunks > MAX_CHUNKS) {
    throw optionsError(label, `cookie.chunks must be a whole number from 1 to ${MAX_CHUNKS}, the most cookies one value may use (ten 4096-byte cookies already pass Node's 16 KiB request header limit); for larger sessions use a server-side storage`)
  }
  if (chunks === 1) return new CookieTransport(name, attributes)
  if (serverSide) {
    throw optionsError(label, 'cookie.chunks is for client-side sessions: a server-side cookie holds only an id')
  }
  const transport = new ChunkedCookieTransport(name, attributes, chunks)
  if (transport.room < MIN_CHUNK_BYTES) {
    throw optionsError(label, `the cookie's name and attributes leave ${transport.room} bytes per chunk for the value: shorten the path, domain or extensions`)
  }
  return transport
}

/**
 * At registration: refuses a provider named like another one's chunk (each would overwrite the
 * other), and warns when the chunks could pass the server's request header limit.
 */
export function checkChunkedCookies (transports: ReadonlyArray<{ readonly name: string }>, server: object, log: { warn: (message: string) => void }): void {
  checkChunkNames(transports)
  const warning = headerLimitWarning(transports, server)
  if (warning !== null) log.warn(warning)
}

/** Refuses a provider whose cookie name is another provider's chunk: each would overwrite the other. */
function checkChunkNames (transports: ReadonlyArray<{ readonly name: string }>): void {
  const names = new Set(transports.map((t) => t.name))
  for (const transport of transports) {
    if (!(transport instanceof ChunkedCookieTransport)) continue
    for (let i = 1; i < transport.chunks; i++) {
      const chunk = chunkName(transport.name, i)
      if (names.has(chunk)) throw new FST_SESSIONS_DUPLICATE(`"${chunk}"`, `it is the name of a chunk of "${transport.name}" (cookie.chunks); rename one of them`)
    }
  }
}

/**
 * What the chunked cookies can add up to against the server's request header limit (Node's
 * default 16 KiB): a warning when a browser holding all of them would get 431 for every request.
 */
function headerLimitWarning (transports: ReadonlyArray<{ readonly name: string }>, server: object): string | null {
  // Node keeps the server's own maxHeaderSize option on the server; without one, its default applies.
  const maxHeaderSize = 'maxHeaderSize' in server && typeof server.maxHeaderSize === 'number' ? server.maxHeaderSize : defaultMaxHeaderSize
  let total = 0
  for (const transport of transports) {
    total += transport instanceof ChunkedCookieTransport ? transport.chunks * MAX_COOKIE_BYTES : 0
  }
  if (total <= maxHeaderSize - MAX_COOKIE_BYTES) return null
  return `cookie.chunks lets session cookies reach ${total} bytes, and with the request's other headers they would pass the server's header limit (${maxHeaderSize} bytes): browsers then get 431 for every request; raise it (Fastify({ http: { maxHeaderSize } }) or node --max-http-header-size) or lower cookie.chunks`
}
