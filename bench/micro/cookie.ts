// The Cookie header scanner (lib/cookie-syntax.ts `readCookie`, one name) against the `cookie`
// package's parser that @fastify/cookie calls (an object of every cookie), on browser-like headers.
//   node scripts/run-built.mjs bench/micro/cookie.js
import { readCookie } from '../../lib/cookie-syntax.js'
import { compare } from './measure.js'

type Parse = (header: string, options?: { decode?: (value: string) => string }) => Record<string, string | undefined>
// @fastify/cookie's own dependency (cookie 2), as its `parse` calls it.
const cookie = await import(String('cookie')) as { parseCookie?: Parse, parse?: Parse }
const parse = (cookie.parseCookie ?? cookie.parse) as Parse

const session = 'S=' + '2%3AS%3Amj3k2a0%3Amj3k2a0%3Amjb2x80%3A%7B%22username%22%3A%22bench%22%2C%22count%22%3A12%7D%2F' + 'a'.repeat(64)
const headers = {
  'the session cookie alone': session,
  'five analytics cookies, then the session': '_ga=GA1.1.1234567890.1700000000; _gid=GA1.1.987654321.1700000000; theme=dark; lang=en-GB; consent=yes; ' + session,
}
for (const [label, header] of Object.entries(headers)) {
  // parse decodes each value; readCookie keeps it raw (Ktor's encodings are the provider's to undo).
  if (decodeURIComponent(readCookie(header, 'S') ?? '') !== parse(header)['S']) throw new Error('the scanners disagree')
  compare(`Cookie header: ${label}`, [
    { label: 'readCookie(header, name), raw value, as shipped', run: () => readCookie(header, 'S') },
    { label: 'cookie parse(header)[name] (decodes every value)', run: () => parse(header)['S'] },
    { label: 'cookie parse(header, { decode: identity })[name]', run: () => parse(header, { decode: (v: string) => v })['S'] },
  ])
}
