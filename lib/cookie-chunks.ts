import { hash } from 'node:crypto'
import type { CookieEncoding } from './cookie-encoding.js'
import { isBlank, pairValue } from './cookie-syntax.js'

// The wire format of a value split over cookies NAME, NAME.1, ... NAME.(n-1) (cookie.chunks):
// pure string work, no Fastify. A value that fits one cookie travels as it always did; a split
// one starts with a frame in NAME, `!<n>.<tag>`, where the tag is a digest of n and every piece:
// the pieces are read back as one value only if all n are there, in order and unchanged, so a
// missing, reordered, altered or inserted chunk makes the session absent, and chunks left over
// from an older, larger value (NAME.n and up) are ignored. uri and base64 never write `!`; a raw
// or dquotes value that starts with one is framed too (n = 1), so a frame is never ambiguous.

/** The most cookies one value may use: ten of 4096 bytes already pass Node's 16 KiB header limit. */
export const MAX_CHUNKS = 10
/** `!` + up to two digits + `.` + the tag. */
export const FRAME_BYTES = 12
const MARK = 33 // '!'
const TAG_CHARS = 8

/** The name of chunk `index` (0 is the provider's own name). */
export function chunkName (name: string, index: number): string {
  return index === 0 ? name : name + '.' + index
}

/**
 * The values of NAME, NAME.1 ... NAME.9 in a Cookie header (the first of each name, as for
 * single cookies), by index. One pass over the header.
 */
export function scanChunks (header: string, name: string): Array<string | undefined> {
  const found: Array<string | undefined> = []
  const len = header.length
  let start = 0
  while (start < len) {
    let end = header.indexOf(';', start)
    if (end < 0) end = len
    while (start < end && isBlank(header.charCodeAt(start))) start++
    if (header.startsWith(name, start)) {
      let at = start + name.length
      let index = 0
      const digit = header.charCodeAt(at + 1)
      if (header.charCodeAt(at) === 46 && digit >= 49 && digit <= 57) { // '.' then 1-9
        index = digit - 48
        at += 2
      }
      if (found[index] === undefined) found[index] = pairValue(header, at, end)
    }
    start = end + 1
  }
  return found
}

function tagOf (pieces: readonly string[]): string {
  return hash('sha256', pieces.length + '.' + pieces.join(''), 'base64url').slice(0, TAG_CHARS)
}

/** Whether NAME's value is a frame (or claims to be one). */
export function isFramed (first: string): boolean {
  return first.charCodeAt(0) === MARK
}

/** The encoded pieces as they are written: the first carries the frame when there is more than one (or it starts with `!`). */
export function frame (pieces: readonly string[]): string[] {
  const first = pieces[0] ?? ''
  if (pieces.length === 1 && !isFramed(first)) return [first]
  const out = [...pieces]
  out[0] = '!' + pieces.length + '.' + tagOf(pieces) + first
  return out
}

// dquotes values with spaces or commas are quoted: each piece is quoted on its own (a browser
// trims the blanks at a cookie value's ends), and unquoted before the pieces are joined.
function unquote (piece: string, encoding: CookieEncoding): string {
  return encoding === 'dquotes' && piece.length >= 2 && piece.charCodeAt(0) === 34 && piece.charCodeAt(piece.length - 1) === 34
    ? piece.slice(1, -1)
    : piece
}

// The frame's count and where its tag starts, or null.
function frameHead (first: string): [count: number, tagAt: number] | null {
  let at = 1
  let count = 0
  while (at < 3 && first.charCodeAt(at) >= 48 && first.charCodeAt(at) <= 57) {
    count = count * 10 + first.charCodeAt(at) - 48
    at++
  }
  return count < 1 || count > MAX_CHUNKS || first.charCodeAt(at) !== 46 ? null : [count, at + 1]
}

/**
 * A framed NAME and the chunks its frame counts, as sent, one per line (no Cookie header holds a
 * newline): cheap, so a value this process wrote or verified before is known by it without
 * verifying again. A missing chunk ends the list early, which `openChunks` refuses.
 */
export function gatherChunks (first: string, header: string, name: string): string {
  const head = frameHead(first)
  if (head === null || head[0] === 1) return first
  const found = scanChunks(header, name)
  let out = first
  for (let i = 1; i < head[0]; i++) {
    const piece = found[i]
    if (piece === undefined) break
    out += '\n' + piece
  }
  return out
}

/**
 * The one value that gathered chunks carry, joined as the transport's decoder expects it; null
 * when the frame is broken or a chunk is missing, reordered, altered or inserted.
 */
export function openChunks (gathered: string, encoding: CookieEncoding): string | null {
  const head = frameHead(gathered)
  if (head === null) return null
  const [count, tagAt] = head
  const pieces = gathered.split('\n')
  if (pieces.length !== count) return null
  const tag = gathered.slice(tagAt, tagAt + TAG_CHARS)
  pieces[0] = (pieces[0] as string).slice(tagAt + TAG_CHARS)
  if (tag.length !== TAG_CHARS || tagOf(pieces) !== tag) return null
  let joined = ''
  for (const piece of pieces) joined += unquote(piece, encoding)
  return joined
}

/**
 * An encoded value cut into pieces of at most `first` bytes (the first) and `rest` bytes (the
 * others), never inside a uri escape; quoted dquotes values are quoted piece by piece. Encoded
 * values are ASCII, so characters are bytes.
 */
export function split (encoded: string, encoding: CookieEncoding, first: number, rest: number): string[] {
  const quoted = encoding === 'dquotes' && encoded.length >= 2 && encoded.charCodeAt(0) === 34
  const body = quoted ? encoded.slice(1, -1) : encoded
  const extra = quoted ? 2 : 0
  const pieces: string[] = []
  let at = 0
  do {
    let end = Math.min(body.length, at + (pieces.length === 0 ? first : rest) - extra)
    if (encoding === 'uri' && end < body.length) {
      if (body.charCodeAt(end - 1) === 37) end -= 1
      else if (body.charCodeAt(end - 2) === 37) end -= 2
    }
    const piece = body.slice(at, end)
    pieces.push(quoted ? '"' + piece + '"' : piece)
    at = end
  } while (at < body.length)
  return pieces
}
