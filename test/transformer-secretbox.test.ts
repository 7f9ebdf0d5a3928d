import { createRequire } from 'node:module'
import { test } from 'tap'
import Type from 'typebox'
import { cookieSession } from '../lib/provider.js'
import { transformerConformance } from '../testing/index.js'
import { hex } from '../transformers/keys.js'
import { secretbox, secretboxKeyId } from '../transformers/secretbox.js'
import { buildApp, cookiesOf, KEY_HEX, OTHER_KEY_HEX } from './helpers/app.js'

const require = createRequire(import.meta.url)
const sodium = require('sodium-native') as {
  crypto_secretbox_open_easy (m: Buffer, c: Buffer, n: Buffer, k: Buffer): boolean
}

const KEY = hex(KEY_HEX)
const OLD_KEY = hex(OTHER_KEY_HEX)
const PLAIN = '{"username":"John","count":1}'

test('secretbox passes the transformer conformance suite', async (t) => {
  for (const [name, make] of [['one key', () => secretbox({ key: KEY })], ['two keys', () => secretbox({ key: [KEY, OLD_KEY] })]] as const) {
    for (const check of transformerConformance) {
      await t.test(`${name}: ${check.name}`, async (t) => {
        await check.run(make)
        t.pass('no assertion failed')
      })
    }
  }
})

test('the byte layout is version, key id, nonce, then a box libsodium opens', async (t) => {
  const written = secretbox({ key: KEY }).transformWrite(PLAIN)
  t.match(written, /^[A-Za-z0-9_-]+$/, 'base64url without padding')
  const bytes = Buffer.from(written, 'base64url')
  t.equal(bytes.length, 1 + 4 + 24 + 16 + Buffer.byteLength(PLAIN))
  t.equal(bytes[0], 1, 'version 1')
  t.same(bytes.subarray(1, 5), secretboxKeyId(KEY), 'the key id of the writing key')
  const plain = Buffer.alloc(Buffer.byteLength(PLAIN))
  t.ok(sodium.crypto_secretbox_open_easy(plain, bytes.subarray(29), bytes.subarray(5, 29), KEY), 'crypto_secretbox_open_easy opens it')
  t.equal(plain.toString(), PLAIN)
})

test('every write draws a fresh nonce', async (t) => {
  const transformer = secretbox({ key: KEY })
  const nonces = new Set<string>()
  for (let i = 0; i < 1000; i++) nonces.add(Buffer.from(transformer.transformWrite('x'), 'base64url').subarray(5, 29).toString('hex'))
  t.equal(nonces.size, 1000)
})

test('key rotation: the first key writes, every key reads, a removed key reads nothing', async (t) => {
  const before = secretbox({ key: OLD_KEY }).transformWrite(PLAIN)
  const rotated = secretbox({ key: [KEY, OLD_KEY] })
  t.equal(rotated.transformRead(before), PLAIN, 'a value of the old key still reads')
  const after = rotated.transformWrite(PLAIN)
  t.same(Buffer.from(after, 'base64url').subarray(1, 5), secretboxKeyId(KEY), 'new values are written with the first key')
  t.equal(secretbox({ key: KEY }).transformRead(before), null, 'once the old key is removed its values read as absent')
  t.equal(secretbox({ key: KEY }).transformRead(after), PLAIN)
})

test('a tampered value reads as absent: version, key id, nonce, tag, ciphertext', async (t) => {
  const transformer = secretbox({ key: [KEY, OLD_KEY] })
  const bytes = Buffer.from(transformer.transformWrite(PLAIN), 'base64url')
  for (let i = 0; i < bytes.length; i++) {
    const changed = Buffer.from(bytes)
    changed[i] = (changed[i] as number) ^ 0x01
    t.equal(transformer.transformRead(changed.toString('base64url')), null, `byte ${i} flipped`)
  }
  const otherKid = Buffer.from(bytes)
  secretboxKeyId(OLD_KEY).copy(otherKid, 1)
  t.equal(transformer.transformRead(otherKid.toString('base64url')), null, 'the other key id does not open a box of the first key')
  t.equal(transformer.transformRead(bytes.subarray(0, 44).toString('base64url')), null, 'shorter than a header and a tag')
  t.equal(transformer.transformRead(bytes.toString('base64')), null, 'padded or standard base64 is not the format')
})

test('keys must be 32 bytes, given as bytes', async (t) => {
  t.throws(() => secretbox({ key: Buffer.alloc(16) }), { code: 'FST_SESSIONS_OPTIONS', message: /32 bytes/ })
  t.throws(() => secretbox({ key: 'a passphrase' as unknown as Buffer }), { code: 'FST_SESSIONS_OPTIONS', message: /bytes/ })
  t.throws(() => secretbox({ key: [] }), { code: 'FST_SESSIONS_OPTIONS', message: /at least one key/ })
  t.throws(() => secretbox({ key: KEY, extra: 1 } as unknown as { key: Buffer }), { code: 'FST_SESSIONS_OPTIONS' })
})

test('a secretbox cookie session round-trips through a real app, and a tampered cookie reads as absent', async (t) => {
  const counter = cookieSession('COUNTER', Type.Object({ n: Type.Integer() }), { transformers: [secretbox({ key: KEY })] })
  const app = await buildApp(t, [counter])
  app.get('/', async (request) => {
    const n = (request.sessions.get(counter)?.n ?? 0) + 1
    request.sessions.set(counter, { n })
    return { n }
  })
  const first = await app.inject('/')
  const cookie = cookiesOf(first.headers['set-cookie'])
  const second = await app.inject({ url: '/', headers: { cookie } })
  t.same(second.json(), { n: 2 })
  const tampered = cookie.slice(0, -3) + (cookie.endsWith('A') ? 'Baa' : 'Aaa')
  const third = await app.inject({ url: '/', headers: { cookie: tampered } })
  t.equal(third.statusCode, 200)
  t.same(third.json(), { n: 1 }, 'the tampered cookie read as no session')
})
