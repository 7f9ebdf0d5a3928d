import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto'
import Type, { type Static } from 'typebox'
import { optionsError, parseOptionsWithDefaults, withDefault } from '../lib/options.js'
import { isHex, isLowerHex, keyList, secretKeys, type KeyInput } from './keys.js'
import { hmacAlgorithm, macLength } from './hmac.js'
import type { SessionTransportTransformer } from './transformer.js'

const LABEL = 'ktorEncrypt()'
const IV_BYTES = 16
const BLOCK_BYTES = 16
const LONE_SURROGATE = /[\uD800-\uDFFF]/u
const AES: Record<number, string> = { 16: 'aes-128-cbc', 24: 'aes-192-cbc', 32: 'aes-256-cbc' }

/** Makes the IV of each write; Ktor's `ivGenerator`. Called with 16; must return 16 bytes. */
export type IvGenerator = (size: number) => Uint8Array

export const KtorEncryptOptionsSchema = Type.Object({
  /** AES key, 16, 24 or 32 bytes; or a list (the first writes, every one reads), paired by position with `signKey`. */
  encryptionKey: Type.Unsafe<KeyInput>({}),
  /** HMAC key, any non-empty length (32 bytes or more recommended); or a list. */
  signKey: Type.Unsafe<KeyInput>({}),
  /** Also read Ktor 1.x/2.x values, whose MAC covers the plaintext (this decrypts before authenticating). */
  backwardCompatibleRead: withDefault(Type.Boolean(), false),
  /** Ktor's `signAlgorithm`: `HmacSHA256` (default) or another HMAC, by Ktor's or Node's name. */
  signAlgorithm: withDefault(Type.String(), 'HmacSHA256'),
  /** Ktor's `ivGenerator`, for known-answer tests; the default is the system CSPRNG. */
  ivGenerator: Type.Optional(Type.Unsafe<IvGenerator>({})),
}, { additionalProperties: false })

export type KtorEncryptOptions = Static<typeof KtorEncryptOptionsSchema>

interface Pair { cipher: string, encryptionKey: KeyObject, signKey: KeyObject }

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

function decrypt (pair: Pair, iv: Buffer, body: Buffer): Buffer | null {
  try {
    const decipher = createDecipheriv(pair.cipher, pair.encryptionKey, iv)
    return Buffer.concat([decipher.update(body), decipher.final()])
  } catch {
    return null
  }
}

// Ktor always wrote text, so its plaintexts are valid UTF-8; refusing anything else keeps a
// garbage decryption (possible with the legacy read) from being taken as a session.
function text (plain: Buffer | null): string | null {
  if (plain === null) return null
  try {
    return utf8.decode(plain)
  } catch {
    return null
  }
}

function shortKeyWarnings (keys: readonly Buffer[], name: string): string[] {
  return keys.filter((key) => key.length < 32).map((key) =>
    `${LABEL}: ${name} is ${key.length} bytes long; Ktor accepts it, but 32 bytes or more is recommended`)
}

/**
 * Ktor's SessionTransportTransformerEncrypt (3.x): AES-CBC with PKCS#5 padding, HMAC-SHA256 over
 * the ciphertext, written `hex(iv)/hex(ciphertext):hex(mac)` in lowercase. Unlike Ktor, the MAC is
 * compared in constant time and before any decryption. Ktor's format does not authenticate the IV:
 * whoever knows the first 16 bytes of a plaintext can rewrite them. The client-side envelope keeps
 * those bytes constant; with `envelope: false` the payload's own first 16 bytes are exposed, as in
 * Ktor. Use `encrypt` unless the cookie is shared with a Ktor service.
 */
export function ktorEncrypt (options: KtorEncryptOptions): SessionTransportTransformer {
  const opts = parseOptionsWithDefaults(KtorEncryptOptionsSchema, options, LABEL)
  const { algorithm, warnings: algorithmWarnings } = hmacAlgorithm(opts.signAlgorithm, LABEL)
  const encryptionKeys = keyList(opts.encryptionKey, { label: `${LABEL} encryptionKey (AES)`, lengths: [16, 24, 32] })
  const signKeys = keyList(opts.signKey, { label: `${LABEL} signKey`, minBytes: 1 })
  if (encryptionKeys.length !== signKeys.length && encryptionKeys.length !== 1 && signKeys.length !== 1) {
    throw optionsError(LABEL, 'encryptionKey and signKey lists pair up by position: give both the same number of keys, or one key for either')
  }
  const ivGenerator = opts.ivGenerator ?? randomBytes
  if (typeof ivGenerator !== 'function') throw optionsError(LABEL, 'ivGenerator must be a function (size) => bytes')
  const backwardCompatibleRead = opts.backwardCompatibleRead

  const encObjects = secretKeys(encryptionKeys)
  const signObjects = secretKeys(signKeys)
  const pairs: Pair[] = []
  for (let i = 0; i < Math.max(encryptionKeys.length, signKeys.length); i++) {
    const e = Math.min(i, encryptionKeys.length - 1)
    const s = Math.min(i, signKeys.length - 1)
    pairs.push({
      cipher: AES[(encryptionKeys[e] as Buffer).length] as string,
      encryptionKey: encObjects[e] as KeyObject,
      signKey: signObjects[s] as KeyObject,
    })
  }
  const writer = pairs[0] as Pair
  const macHexLength = macLength(algorithm) * 2
  const warnings = [...algorithmWarnings, ...shortKeyWarnings(encryptionKeys, 'encryptionKey'), ...shortKeyWarnings(signKeys, 'signKey')]
  if (backwardCompatibleRead) {
    warnings.push(`${LABEL}: backwardCompatibleRead decrypts values before authenticating them (Ktor 1.x/2.x format); turn it off once old cookies have expired`)
  }
  const mac = (key: KeyObject, data: Buffer): Buffer => createHmac(algorithm, key).update(data).digest()

  return {
    warnings,
    // The IV is outside the MAC: rewriting it rewrites the first block of plaintext.
    malleablePrefix: BLOCK_BYTES,
    transformWrite (value: string): string {
      if (LONE_SURROGATE.test(value)) throw new Error(`${LABEL}: the value holds an unpaired surrogate, which UTF-8 cannot carry`)
      const iv = ivGenerator(IV_BYTES)
      if (!(iv instanceof Uint8Array) || iv.length !== IV_BYTES) {
        throw new Error(`${LABEL}: ivGenerator must return ${IV_BYTES} bytes`)
      }
      const cipher = createCipheriv(writer.cipher, writer.encryptionKey, iv)
      const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()])
      return Buffer.from(iv).toString('hex') + '/' + body.toString('hex') + ':' + mac(writer.signKey, body).toString('hex')
    },
    transformRead (transportValue: string): string | null {
      if (typeof transportValue !== 'string') return null
      // Ktor splits at the last '/' and the last ':'; with hex parts only one of each can stand.
      const slash = transportValue.indexOf('/')
      if (slash !== IV_BYTES * 2) return null
      const colon = transportValue.indexOf(':', slash + 1)
      if (colon < 0) return null
      const ivHex = transportValue.slice(0, slash)
      const bodyHex = transportValue.slice(slash + 1, colon)
      const macHex = transportValue.slice(colon + 1)
      if (macHex.length !== macHexLength || !isLowerHex(macHex)) return null
      if (bodyHex.length === 0 || bodyHex.length % (BLOCK_BYTES * 2) !== 0) return null
      if (!isHex(ivHex) || !isHex(bodyHex)) return null
      const iv = Buffer.from(ivHex, 'hex')
      const body = Buffer.from(bodyHex, 'hex')
      const expected = Buffer.from(macHex, 'hex')
      for (const pair of pairs) {
        if (!timingSafeEqual(mac(pair.signKey, body), expected)) continue
        const plain = text(decrypt(pair, iv, body))
        if (plain !== null) return plain
      }
      if (!backwardCompatibleRead) return null
      // Ktor 1.x/2.x: the MAC covers the plaintext, so there is nothing to check before decrypting.
      for (const pair of pairs) {
        const plain = decrypt(pair, iv, body)
        if (plain !== null && timingSafeEqual(mac(pair.signKey, plain), expected)) {
          const value = text(plain)
          if (value !== null) return value
        }
      }
      return null
    },
  }
}
