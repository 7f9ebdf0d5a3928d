import { createHash } from 'node:crypto'
import { test } from 'tap'
import { digest } from '../transformers/digest.js'

const PLAIN = 'count=%23i1&username=%23sJohn'

test('Ktor 1.x\'s format: value/hex(SHA-384("ktor" + value)) by default', async (t) => {
  const written = digest().transformWrite(PLAIN)
  t.equal(written, PLAIN + '/' + createHash('sha384').update('ktor' + PLAIN).digest('hex'))
  t.match(written, /\/[0-9a-f]{96}$/)
  t.equal(digest().transformRead(written), PLAIN)
})

test('a pinned value: the salted hash of a fixed string', async (t) => {
  t.equal(digest().transformWrite('x'), 'x/6666cec4dbbc8d9eafc08800a6cdd0b4dc9d76aab5412faf2ebea1d026c11f10c6722d3c7edc8961810dc84b6d7e2f0d')
  t.equal(digest({ salt: 'pepper', algorithm: 'SHA-256' }).transformWrite('x'), 'x/' + createHash('sha256').update('pepperx').digest('hex'))
})

test('Java algorithm names map to Node\'s; unknown names are refused', async (t) => {
  for (const [java, node] of [['SHA-1', 'sha1'], ['SHA-256', 'sha256'], ['SHA-512', 'sha512'], ['MD5', 'md5'], ['SHA-512/256', 'sha512-256'], ['sha384', 'sha384']] as const) {
    t.equal(digest({ algorithm: java }).transformWrite('v'), 'v/' + createHash(node).update('ktorv').digest('hex'), java)
  }
  t.throws(() => digest({ algorithm: 'SHA-999' }), { code: 'FST_SESSIONS_OPTIONS', message: /unknown algorithm "SHA-999"/ })
  t.throws(() => digest({ salt: 1 as unknown as string }), { code: 'FST_SESSIONS_OPTIONS', message: /salt/ })
})

test('it always warns that it is not a MAC', async (t) => {
  for (const transformer of [digest(), digest({ salt: 'a long and unusual salt' })]) {
    t.equal(transformer.warnings?.length, 1)
    t.match(transformer.warnings?.[0], /is not a MAC/)
  }
})

test('tamper matrix: swapped parts, other salt, other algorithm, Ktor\'s lenient hex read as absent', async (t) => {
  const d = digest()
  const written = d.transformWrite(PLAIN)
  const sig = written.slice(written.lastIndexOf('/') + 1)
  const cases: Record<string, string> = {
    'hash first': sig + '/' + PLAIN,
    'no separator': PLAIN + sig,
    'uppercase hash': PLAIN + '/' + sig.toUpperCase(),
    'odd trailing digit': written + '0',
    'hash of another value': 'other/' + sig,
  }
  for (const [name, value] of Object.entries(cases)) t.equal(d.transformRead(value), null, name)
  t.equal(digest({ salt: 'other' }).transformRead(written), null, 'other salt')
  t.equal(digest({ algorithm: 'SHA-512' }).transformRead(written), null, 'other algorithm')
})
