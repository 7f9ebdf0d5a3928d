import { readFileSync } from 'node:fs'
import { test } from 'tap'
import Type from 'typebox'
import { ktorSerializer } from '../lib/ktor-serializer.js'
import { jsonSerializer } from '../lib/serializer.js'
import { decodeCookieValue, encodeCookieValue } from '../lib/cookie-encoding.js'
import { messageAuthentication } from '../transformers/message-authentication.js'
import { ktorEncrypt } from '../transformers/ktor-encrypt.js'
import { encrypt } from '../transformers/encrypt.js'
import { hex } from '../transformers/keys.js'

// Every vector of Ktor's wire formats (a copy of ../shared/ktor/vectors.json) has a known-answer
// test here; the cookie-line, clear-cookie and id vectors go through a Fastify app in
// ktor-interop.test.ts. A vector added to the file without a test fails the first test.

interface Vector { id: string, [key: string]: unknown }
const vectors = (JSON.parse(readFileSync(new URL('./fixtures/ktor-vectors.json', import.meta.url), 'utf8')) as { vectors: Vector[] }).vectors
const byId = new Map(vectors.map((v) => [v.id, v]))

// The fields a test reads are strings in the file; a missing one fails the assertion that uses it.
type Fields = Record<string, any>

function vector (id: string): Fields {
  const v = byId.get(id)
  if (v === undefined) throw new Error(`no vector ${id}`)
  return v
}

const LoginSession = Type.Object({ username: Type.String(), count: Type.Integer() })
const login = { username: 'John', count: 1 }

const handledHere = [
  'serializer/kotlinx-json/LoginSession',
  'serializer/reflection/LoginSession',
  'serializer/kotlinx-backward-compatible/LoginSession',
  'serializer/reflection/list-item-with-ampersand (Ktor bug)',
  'transform/mac-hmacsha256/json',
  'transform/mac/negative',
  'transform/encrypt-v3/aes128/json',
  'transform/encrypt-v3/negative',
  'transform/encrypt-v3/WEAKNESS-iv-bitflip',
  'cookie/mac-json',
]
const handledInInterop = ['cookie/mac-json', 'cookie/clear', 'sessionId/format']

test('every vector in the file has a known-answer test', async (t) => {
  const handled = new Set([...handledHere, ...handledInInterop])
  t.same(vectors.map((v) => v.id).filter((id) => !handled.has(id)), [])
  t.ok(vectors.length >= 12)
})

test('kotlinx JSON: the default serializer writes what Ktor 3 writes, and reads it', async (t) => {
  const v = vector('serializer/kotlinx-json/LoginSession')
  const json = jsonSerializer(LoginSession)
  t.equal(json.serialize(login), v.output)
  t.same(json.deserialize(v.output), login)
})

test('reflection format: ktorSerializer sorts properties by name as Ktor 1.x/2.x does', async (t) => {
  const v = vector('serializer/reflection/LoginSession')
  const serializer = ktorSerializer(LoginSession)
  t.equal(serializer.serialize(login), v.output)
  t.same(serializer.deserialize(v.output), v.decoded)
  // The declaration-order reader is order-agnostic, as Ktor's is.
  t.same(ktorSerializer(LoginSession, { order: 'declaration' }).deserialize(v.output), login)
})

test('backward-compatible format: declaration order, and either order reads it', async (t) => {
  const v = vector('serializer/kotlinx-backward-compatible/LoginSession')
  const serializer = ktorSerializer(LoginSession, { order: 'declaration' })
  t.equal(serializer.serialize(login), v.output)
  t.same(serializer.deserialize(v.output), login)
  t.same(ktorSerializer(LoginSession).deserialize(v.output), login)
})

test('an ampersand inside a list item: Ktor cannot read it back, so ktorSerializer refuses to write it', async (t) => {
  const v = vector('serializer/reflection/list-item-with-ampersand (Ktor bug)')
  const serializer = ktorSerializer(Type.Object({ items: Type.Array(Type.String()) }))
  t.throws(() => serializer.deserialize(v.output), { message: /Bad serialized value/ })
  t.throws(() => serializer.serialize({ items: ['a&b'] }), { message: /cannot carry this value/ })
  t.equal(serializer.serialize({ items: ['a', 'b'] }), 'items=%23cl%23sa%26%23sb')
})

test('MAC: messageAuthentication writes Ktor\'s value byte for byte and reads it', async (t) => {
  const v = vector('transform/mac-hmacsha256/json')
  const mac = messageAuthentication({ key: hex(v.keyHex), algorithm: v.algorithm })
  t.equal(mac.transformWrite(v.input), v.output)
  t.equal(mac.transformRead(v.output), v.input)
  t.equal(v.output.slice(v.output.lastIndexOf('/') + 1), v.macHex)
})

test('MAC: every negative case reads as absent, as in Ktor', async (t) => {
  const v = vector('transform/mac/negative')
  const mac = messageAuthentication({ key: hex(v.keyHex) })
  const cases = v.cases as unknown as Array<{ input: string, ktorResult: string | null, why: string }>
  t.equal(cases.length, 4)
  for (const c of cases) t.equal(mac.transformRead(c.input), c.ktorResult, c.why)
})

function ktorEncryptOf (v: Record<string, string>, iv?: string): ReturnType<typeof ktorEncrypt> {
  return ktorEncrypt({
    encryptionKey: hex(v.encryptionKeyHex as string),
    signKey: hex(v.signKeyHex as string),
    ...(iv === undefined ? {} : { ivGenerator: () => hex(iv) }),
  })
}

test('Encrypt v3: ktorEncrypt with Ktor\'s IV writes Ktor\'s value byte for byte and reads it', async (t) => {
  const v = vector('transform/encrypt-v3/aes128/json')
  const transformer = ktorEncryptOf(v, v.ivHex)
  t.equal(transformer.transformWrite(v.input), v.output)
  t.equal(transformer.transformRead(v.output), v.input)
  t.equal(ktorEncryptOf(v).transformRead(v.output), v.input, 'reading needs no IV generator')
})

test('Encrypt v3: every negative case reads as Ktor reads it', async (t) => {
  const v = vector('transform/encrypt-v3/negative')
  const transformer = ktorEncryptOf(v)
  t.equal(transformer.transformRead(v.valid), '{"username":"John","count":1}')
  const cases = v.cases as unknown as Array<{ input: string, ktorResult: string | null, why: string }>
  t.equal(cases.length, 4)
  for (const c of cases) t.equal(transformer.transformRead(c.input), c.ktorResult, c.why)
})

test('Encrypt v3 IV bit-flip: ktorEncrypt accepts the forgery, as Ktor does', async (t) => {
  const v = vector('transform/encrypt-v3/WEAKNESS-iv-bitflip')
  const transformer = ktorEncryptOf(v)
  t.equal(transformer.transformRead(v.original), v.originalPlain)
  t.equal(transformer.transformRead(v.forged), v.ktorDecryptsForgedTo)
})

test('the same IV bit-flip against encrypt reads as absent: its IV is authenticated', async (t) => {
  const v = vector('transform/encrypt-v3/WEAKNESS-iv-bitflip')
  const transformer = encrypt({ key: hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f') })
  const original = transformer.transformWrite(v.originalPlain as string)
  t.equal(transformer.transformRead(original), v.originalPlain)
  // Same attack: XOR the IV with (known ^ wanted); "eve" and "bob" differ in bytes 13 to 15.
  const bytes = Buffer.from(original, 'base64url')
  const known = Buffer.from(v.originalPlain as string)
  const wanted = Buffer.from(v.ktorDecryptsForgedTo as string)
  const ivStart = 5
  for (let i = 0; i < 16; i++) (bytes[ivStart + (i % 12)] as number) ^= (known[i] as number) ^ (wanted[i] as number)
  t.not(bytes.toString('base64url'), original, 'the IV changed')
  // GCM is a stream cipher: flipping ciphertext bits flips plaintext bits; the tag stops that too.
  const flippedBody = Buffer.from(original, 'base64url')
  for (let i = 0; i < 16; i++) (flippedBody[17 + i] as number) ^= (known[i] as number) ^ (wanted[i] as number)
  t.not(flippedBody.toString('base64url'), original, 'the ciphertext changed')
  t.equal(transformer.transformRead(bytes.toString('base64url')), null)
  t.equal(transformer.transformRead(flippedBody.toString('base64url')), null)
})

test('cookie value encodings of the MAC value: every Ktor URI variant and base64 read back', async (t) => {
  const v = vector('cookie/mac-json')
  t.equal(encodeCookieValue(v.value, 'uri'), v['URI_ENCODING(>=2.2.0, default)'])
  t.equal(encodeCookieValue(v.value, 'base64'), v.BASE64_ENCODING)
  for (const key of ['URI_ENCODING(>=2.2.0, default)', 'URI_ENCODING(1.x..2.1.2)', 'URI_ENCODING(2.1.3)']) {
    t.equal(decodeCookieValue(v[key] as string, 'uri'), v.value, key)
  }
  t.equal(decodeCookieValue(v.BASE64_ENCODING, 'base64'), v.value)
  // The MAC covers the decoded value, so every encoding verifies.
  const mac = messageAuthentication({ key: hex(vector('transform/mac-hmacsha256/json').keyHex) })
  t.equal(mac.transformRead(decodeCookieValue(v['URI_ENCODING(2.1.3)'] as string, 'uri') as string), '{"username":"John","count":1}')
})
