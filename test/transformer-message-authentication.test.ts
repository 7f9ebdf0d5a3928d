import { createHmac } from 'node:crypto'
import { test } from 'tap'
import { messageAuthentication } from '../transformers/message-authentication.js'
import { hex } from '../transformers/keys.js'

const KEY = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f')
const OLD_KEY = hex('1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100')
const PLAIN = '{"username":"John","count":1}'
const SIGNED = PLAIN + '/0ab564a5134a799ce24e843bf7f303a78e931ee99bf5a9d2d1966843b4af3b76'

test('keys under 32 bytes are refused, with the length needed', async (t) => {
  for (const length of [0, 12, 31]) {
    t.throws(() => messageAuthentication({ key: Buffer.alloc(length, 1) }), { code: 'FST_SESSIONS_OPTIONS', message: new RegExp(`at least 32 bytes long, not ${length}`) })
  }
  t.ok(messageAuthentication({ key: Buffer.alloc(64, 1) }))
  t.throws(() => messageAuthentication({ key: [KEY, Buffer.alloc(16)] }), { code: 'FST_SESSIONS_OPTIONS', message: /key 1/ })
})

test('Ktor\'s algorithm names and Node\'s both work; an unknown one is refused', async (t) => {
  for (const [algorithm, hash] of [['HmacSHA256', 'sha256'], ['HmacSHA384', 'sha384'], ['HmacSHA512', 'sha512'], ['sha512', 'sha512']] as const) {
    const written = messageAuthentication({ key: KEY, algorithm }).transformWrite(PLAIN)
    t.equal(written, PLAIN + '/' + createHmac(hash, KEY).update(PLAIN).digest('hex'), algorithm)
  }
  t.throws(() => messageAuthentication({ key: KEY, algorithm: 'HmacNope' }), { code: 'FST_SESSIONS_OPTIONS', message: /unknown algorithm/ })
})

test('key rotation: the first key signs, every key verifies, an old value is re-signed with the first', async (t) => {
  const before = messageAuthentication({ key: OLD_KEY })
  const old = before.transformWrite(PLAIN)
  const after = messageAuthentication({ key: [KEY, OLD_KEY] })
  t.equal(after.transformRead(old), PLAIN)
  t.equal(after.transformRead(SIGNED), PLAIN)
  t.equal(after.transformWrite(PLAIN), SIGNED, 'written with the first key')
  t.equal(before.transformRead(SIGNED), null)
  t.equal(messageAuthentication({ key: KEY }).transformRead(old), null, 'a dropped key no longer verifies')
})

test('values may contain slashes: the last one separates the MAC', async (t) => {
  const mac = messageAuthentication({ key: KEY })
  for (const value of ['a/b', '/', '//x//', '']) t.equal(mac.transformRead(mac.transformWrite(value)), value)
})

test('tamper matrix: swapped parts, wrong key, wrong algorithm read as absent', async (t) => {
  const mac = messageAuthentication({ key: KEY })
  const other = mac.transformWrite('{"username":"Jane","count":2}')
  const sig = SIGNED.slice(SIGNED.lastIndexOf('/') + 1)
  const otherSig = other.slice(other.lastIndexOf('/') + 1)
  const cases: Record<string, string> = {
    'MAC of another value': PLAIN + '/' + otherSig,
    'MAC first': sig + '/' + PLAIN,
    'MAC doubled': SIGNED + sig,
    'MAC twice': SIGNED + '/' + sig,
    'MAC alone': '/' + sig,
    'uppercase MAC': PLAIN + '/' + sig.toUpperCase(),
    'MAC with a trailing newline': SIGNED + '\n',
  }
  for (const [name, value] of Object.entries(cases)) t.equal(mac.transformRead(value), null, name)
  t.equal(messageAuthentication({ key: OLD_KEY }).transformRead(SIGNED), null, 'wrong key')
  t.equal(messageAuthentication({ key: KEY, algorithm: 'sha512' }).transformRead(SIGNED), null, 'wrong algorithm')
  t.equal(messageAuthentication({ key: KEY }).transformRead(messageAuthentication({ key: KEY, algorithm: 'sha384' }).transformWrite(PLAIN)), null, 'a SHA-384 MAC under a SHA-256 reader')
})
