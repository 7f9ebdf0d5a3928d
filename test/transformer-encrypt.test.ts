import { createCipheriv, createHmac } from 'node:crypto'
import { test } from 'tap'
import { encrypt, encryptKeyId } from '../transformers/encrypt.js'
import { hex } from '../transformers/keys.js'

const KEY = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f')
const OLD_KEY = hex('1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100')
const PLAIN = '{"username":"John","count":1}'

// Made once with the keys above; they pin the format: a change to it must break these tests.
const FIXED = 'Afnmfq0877XJwh0TwA8EyY921MtrySxZ5Vn-S0STdHKj4BlkXdFsR43MaUS4PWrGp9zK7XHTH-3CuCmNMEI'
const FIXED_OLD_KEY = 'Aep77V5Qqna1uk_gnoeuuq7KSoTA31adPgu9NkEWd8rACXR93cCoajFV-yyQFQy1oGqmYPgXESApnf4X8aY'
const FIXED_EMPTY = 'Afnmfq1Od1irvbljGq9Evq-qHKmf_Y2o2A-wA3YC8bHL'

test('our own fixed vectors decrypt: the format is pinned', async (t) => {
  const transformer = encrypt({ key: KEY })
  t.equal(transformer.transformRead(FIXED), PLAIN)
  t.equal(transformer.transformRead(FIXED_EMPTY), '')
  t.equal(encrypt({ key: OLD_KEY }).transformRead(FIXED_OLD_KEY), PLAIN)
  t.equal(transformer.transformRead(FIXED_OLD_KEY), null, 'another key does not read it')
})

test('the byte layout is version, key id, IV, ciphertext, tag, with the header authenticated', async (t) => {
  const bytes = Buffer.from(FIXED, 'base64url')
  t.equal(bytes.length, 1 + 4 + 12 + Buffer.byteLength(PLAIN) + 16)
  t.equal(bytes[0], 1, 'version 1')
  const kid = createHmac('sha256', KEY).update('fastify-sessions encrypt key id').digest().subarray(0, 4)
  t.same(bytes.subarray(1, 5), kid, 'key id: HMAC-SHA256(key, label), first 4 bytes')
  t.same(encryptKeyId(KEY), kid)
  // Re-encrypt with the same IV through plain node:crypto: the same bytes come out.
  const iv = bytes.subarray(5, 17)
  const cipher = createCipheriv('aes-256-gcm', KEY, iv)
  cipher.setAAD(bytes.subarray(0, 17))
  const body = Buffer.concat([cipher.update(PLAIN, 'utf8'), cipher.final()])
  t.equal(Buffer.concat([bytes.subarray(0, 17), body, cipher.getAuthTag()]).toString('base64url'), FIXED)
})

test('every write has a fresh IV, and the output is base64url without padding', async (t) => {
  const transformer = encrypt({ key: KEY })
  const seen = new Set<string>()
  for (let i = 0; i < 200; i++) {
    const value = transformer.transformWrite(PLAIN)
    t.match(value, /^[A-Za-z0-9_-]+$/)
    seen.add(Buffer.from(value, 'base64url').subarray(5, 17).toString('hex'))
  }
  t.equal(seen.size, 200)
})

test('keys must be exactly 32 bytes, and the message says so', async (t) => {
  for (const length of [0, 16, 24, 31, 33, 64]) {
    t.throws(() => encrypt({ key: Buffer.alloc(length, 1) }), { code: 'FST_SESSIONS_OPTIONS', message: new RegExp(`32 bytes long, not ${length}`) }, `${length} bytes`)
  }
  t.throws(() => encrypt({ key: [KEY, Buffer.alloc(16)] }), { code: 'FST_SESSIONS_OPTIONS', message: /key 1/ })
  t.throws(() => encrypt({ key: [] }), { code: 'FST_SESSIONS_OPTIONS', message: /at least one key/ })
  t.throws(() => encrypt({ key: 'a'.repeat(32) as unknown as Uint8Array }), { code: 'FST_SESSIONS_OPTIONS', message: /must be bytes/ })
  t.throws(() => encrypt({ key: KEY, algorithm: 'aes-128-gcm' } as unknown as Parameters<typeof encrypt>[0]), { code: 'FST_SESSIONS_OPTIONS', message: /unknown option "algorithm"/ })
  t.throws(() => encrypt(undefined as unknown as Parameters<typeof encrypt>[0]), { code: 'FST_SESSIONS_OPTIONS' })
})

test('error messages never carry key material', async (t) => {
  const err = t.throws(() => encrypt({ key: Buffer.from('secret-secret-secret') })) as Error
  t.equal((err as Error & { code: string }).code, 'FST_SESSIONS_OPTIONS')
  t.notMatch(err.message, /secret/)
})

test('key rotation: the first key writes, every key reads, an old value is rewritten with the first', async (t) => {
  const before = encrypt({ key: OLD_KEY })
  const old = before.transformWrite(PLAIN)
  const after = encrypt({ key: [KEY, OLD_KEY] })
  t.equal(after.transformRead(old), PLAIN)
  t.equal(after.transformRead(FIXED_OLD_KEY), PLAIN)
  const rewritten = after.transformWrite(PLAIN)
  t.same(Buffer.from(rewritten, 'base64url').subarray(1, 5), encryptKeyId(KEY), 'written with the first key')
  t.equal(encrypt({ key: KEY }).transformRead(rewritten), PLAIN)
  t.equal(before.transformRead(rewritten), null, 'a retired reader cannot read it')
  t.equal(encrypt({ key: KEY }).transformRead(old), null, 'once the old key is dropped, its values are absent')
})

test('a read picks the key by its id: a value naming an unknown key id is refused without trying keys', async (t) => {
  const transformer = encrypt({ key: [KEY, OLD_KEY] })
  const bytes = Buffer.from(FIXED, 'base64url')
  bytes.fill(0xAB, 1, 5)
  t.equal(transformer.transformRead(bytes.toString('base64url')), null)
  // A value whose key id names the old key but was sealed by the new one: one try, then absent.
  const swapped = Buffer.from(FIXED, 'base64url')
  encryptKeyId(OLD_KEY).copy(swapped, 1)
  t.equal(transformer.transformRead(swapped.toString('base64url')), null)
})

test('malformed values read as absent: non-base64url, padding, short, non-canonical, other version', async (t) => {
  const transformer = encrypt({ key: KEY })
  const bytes = Buffer.from(FIXED, 'base64url')
  const cases: Record<string, string> = {
    empty: '',
    'standard base64 alphabet': bytes.toString('base64').replace(/=+$/, ''),
    'with padding': bytes.toString('base64url') + '=',
    'one character short of the minimum': FIXED_EMPTY.slice(0, 43),
    'length 1 mod 4': FIXED + 'A',
    'a space': FIXED.slice(0, 10) + ' ' + FIXED.slice(11),
    'version 0': Buffer.concat([Buffer.from([0]), bytes.subarray(1)]).toString('base64url'),
    'version 2': Buffer.concat([Buffer.from([2]), bytes.subarray(1)]).toString('base64url'),
    'percent-encoded': encodeURIComponent(FIXED + '=='),
  }
  // Non-canonical: the last character carries low bits that base64url decoding drops.
  const last = FIXED.at(-1) as string
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const twin = alphabet[alphabet.indexOf(last) ^ 1] as string
  t.same(Buffer.from(FIXED.slice(0, -1) + twin, 'base64url'), bytes, 'Node decodes the twin to the same bytes')
  cases['non-canonical last character'] = FIXED.slice(0, -1) + twin
  for (const [name, value] of Object.entries(cases)) t.equal(transformer.transformRead(value), null, name)
})

test('every length reads only in its canonical spelling: each other last character with the same bytes is refused', async (t) => {
  const transformer = encrypt({ key: KEY })
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  let twins = 0
  // Plaintexts of 0 to 5 bytes give all three lengths mod 4 that base64url produces.
  for (let n = 0; n < 6; n++) {
    const value = transformer.transformWrite('x'.repeat(n))
    const bytes = Buffer.from(value, 'base64url')
    t.equal(transformer.transformRead(value), 'x'.repeat(n), `${n} bytes: the value as written reads`)
    for (const c of alphabet) {
      const other = value.slice(0, -1) + c
      if (other === value || !Buffer.from(other, 'base64url').equals(bytes)) continue
      twins++
      t.equal(transformer.transformRead(other), null, `${n} bytes, last character ${c}: refused`)
    }
  }
  t.ok(twins >= 2 * 3 + 2 * 15, `${twins} non-canonical twins tried`)
})

test('tamper matrix: swapped IV, ciphertext and tag between two values, and swapped halves, read as absent', async (t) => {
  const transformer = encrypt({ key: KEY })
  const a = Buffer.from(transformer.transformWrite(PLAIN), 'base64url')
  const b = Buffer.from(transformer.transformWrite('{"username":"Jane","count":2}'), 'base64url')
  const part = (x: Buffer, from: number, to?: number): Buffer => x.subarray(from, to)
  const tagStart = (x: Buffer): number => x.length - 16
  const swaps: Record<string, Buffer> = {
    'IV of b': Buffer.concat([part(a, 0, 5), part(b, 5, 17), part(a, 17)]),
    'tag of b': Buffer.concat([part(a, 0, tagStart(a)), part(b, tagStart(b))]),
    'ciphertext of b': Buffer.concat([part(a, 0, 17), part(b, 17, tagStart(b)), part(a, tagStart(a))]),
    'tag before ciphertext': Buffer.concat([part(a, 0, 17), part(a, tagStart(a)), part(a, 17, tagStart(a))]),
    'IV after ciphertext': Buffer.concat([part(a, 0, 5), part(a, 17), part(a, 5, 17)]),
    'two values joined': Buffer.concat([a, b]),
  }
  for (const [name, bytes] of Object.entries(swaps)) t.equal(transformer.transformRead(bytes.toString('base64url')), null, name)
  t.equal(transformer.transformRead(a.toString('base64url')), PLAIN, 'the untouched value still reads')
})

test('tamper matrix: every single-bit flip of the bytes reads as absent', async (t) => {
  const transformer = encrypt({ key: KEY })
  const bytes = Buffer.from(FIXED, 'base64url')
  let rejected = 0
  for (let i = 0; i < bytes.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const flipped = Buffer.from(bytes)
      ;(flipped[i] as number) ^= 1 << bit
      if (transformer.transformRead(flipped.toString('base64url')) === null) rejected++
    }
  }
  t.equal(rejected, bytes.length * 8)
})

test('a wrong key reads as absent', async (t) => {
  t.equal(encrypt({ key: Buffer.alloc(32, 9) }).transformRead(FIXED), null)
  t.equal(encrypt({ key: [Buffer.alloc(32, 9), Buffer.alloc(32, 8)] }).transformRead(FIXED), null)
})

test('unpaired surrogates are refused on write instead of being silently replaced', async (t) => {
  const transformer = encrypt({ key: KEY })
  t.throws(() => transformer.transformWrite('a\ud800b'), { message: /unpaired surrogate/ })
  t.equal(transformer.transformRead(transformer.transformWrite('🍪')), '🍪')
})

test('the caller\'s key buffer and options are neither kept nor changed', async (t) => {
  const key = Buffer.from(KEY)
  const options = { key: [key] }
  const transformer = encrypt(options)
  key.fill(0)
  t.equal(transformer.transformRead(FIXED), PLAIN, 'the transformer copied the key')
  t.same(options, { key: [key] })
})
