import { createCipheriv, createDecipheriv, randomFillSync, type KeyObject } from 'node:crypto'
import Type, { type Static } from 'typebox'
import { parseOptions } from '../lib/options.js'
import { keyId, keyList, secretKeys, type KeyInput } from './keys.js'
import type { SessionTransportTransformer } from './transformer.js'

const LABEL = 'encrypt()'

/*
 * Format, version 1: base64url without padding of
 *
 *   version (1 byte, 0x01) | key id (4 bytes) | IV (12 bytes) | ciphertext (n bytes) | tag (16 bytes)
 *
 * AES-256-GCM with the key as given; the first 17 bytes (version, key id, IV) are the additional
 * authenticated data, so none of them can change without the tag failing. The key id is the first
 * 4 bytes of HMAC-SHA256(key, "fastify-sessions encrypt key id"): it names the key without telling
 * anything about it, so a read tries only the keys whose id matches (one, barring a 1 in 2^32
 * collision) instead of every key in the list.
 */
export const ENCRYPT_VERSION = 1
const KID_BYTES = 4
const IV_BYTES = 12
const TAG_BYTES = 16
const HEADER_BYTES = 1 + KID_BYTES + IV_BYTES
const MIN_BYTES = HEADER_BYTES + TAG_BYTES
// base64url without padding: 33 bytes (an empty plaintext) are exactly 44 characters.
const MIN_CHARS = Math.ceil(MIN_BYTES * 4 / 3)
const KID_LABEL = 'fastify-sessions encrypt key id'
const BASE64URL = /^[A-Za-z0-9_-]*$/
const BASE64URL_VALUE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
// By length mod 4: the low bits of the last character that carry no byte (2 characters hold one
// byte and 4 spare bits, 3 hold two bytes and 2 spare bits).
const UNUSED_BITS: readonly number[] = [0, 0, 0b1111, 0b11]
// In a `u` regex a surrogate class matches only unpaired halves, which UTF-8 cannot carry.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u

export const EncryptOptionsSchema = Type.Object({
  /** Exactly 32 bytes (AES-256); or a list of them, where the first encrypts and every one decrypts. */
  key: Type.Unsafe<KeyInput>({}),
}, { additionalProperties: false })

export type EncryptOptions = Static<typeof EncryptOptionsSchema>

interface Entry { key: KeyObject, kid: Buffer }

// IVs are drawn from the CSPRNG in batches: randomBytes(12) costs 2 us a call, about a third of a
// whole write; each IV is handed out once, as with the session ids.
const IV_BATCH = IV_BYTES * 256
const ivPool = Buffer.alloc(IV_BATCH)
let ivOffset = IV_BATCH

function freshIv (target: Buffer, at: number): void {
  if (ivOffset === IV_BATCH) {
    randomFillSync(ivPool)
    ivOffset = 0
  }
  ivPool.copy(target, at, ivOffset, ivOffset + IV_BYTES)
  ivOffset += IV_BYTES
}

/** The 4-byte key id `encrypt` writes for `key`. */
export function encryptKeyId (key: Uint8Array): Buffer {
  return keyId(key, KID_LABEL)
}

/**
 * Authenticated encryption: AES-256-GCM with a fresh random 96-bit IV per write, a version byte
 * and a key id, all authenticated, written as base64url (safe in cookies and headers unescaped).
 * With a list of keys the first encrypts and every one decrypts, so a value made with an older key
 * still reads and is rewritten with the first key the next time the session is written.
 */
export function encrypt (options: EncryptOptions): SessionTransportTransformer {
  const opts = parseOptions(EncryptOptionsSchema, options, LABEL)
  const raw = keyList(opts.key, { label: `${LABEL} key (AES-256)`, lengths: [32] })
  const objects = secretKeys(raw)
  const entries: Entry[] = raw.map((key, i) => ({ key: objects[i] as KeyObject, kid: encryptKeyId(key) }))
  const writer = entries[0] as Entry

  // The header of every write: version and key id fixed, the IV refilled per write (writes are
  // synchronous, and the cipher copies what it is given).
  const header = Buffer.alloc(HEADER_BYTES)
  header[0] = ENCRYPT_VERSION
  writer.kid.copy(header, 1)
  const iv = header.subarray(1 + KID_BYTES, HEADER_BYTES)

  return {
    transformWrite (value: string): string {
      if (LONE_SURROGATE.test(value)) throw new Error('encrypt(): the value holds an unpaired surrogate, which UTF-8 cannot carry')
      freshIv(header, 1 + KID_BYTES)
      const cipher = createCipheriv('aes-256-gcm', writer.key, iv, { authTagLength: TAG_BYTES })
      cipher.setAAD(header)
      const body = cipher.update(value, 'utf8')
      const last = cipher.final()
      const out = Buffer.allocUnsafe(HEADER_BYTES + body.length + last.length + TAG_BYTES)
      header.copy(out, 0)
      body.copy(out, HEADER_BYTES)
      last.copy(out, HEADER_BYTES + body.length)
      cipher.getAuthTag().copy(out, out.length - TAG_BYTES)
      return out.toString('base64url')
    },
    transformRead (transportValue: string): string | null {
      // Everything about the shape is checked before any key is used.
      if (typeof transportValue !== 'string' || transportValue.length < MIN_CHARS) return null
      if (transportValue.length % 4 === 1 || !BASE64URL.test(transportValue)) return null
      // Only the canonical spelling: the low bits of the last character that no byte uses are zero.
      const unused = UNUSED_BITS[transportValue.length % 4] as number
      if (unused !== 0 && (BASE64URL_VALUE.indexOf(transportValue[transportValue.length - 1] as string) & unused) !== 0) return null
      const bytes = Buffer.from(transportValue, 'base64url')
      if (bytes.length < MIN_BYTES) return null
      if (bytes[0] !== ENCRYPT_VERSION) return null
      const header = bytes.subarray(0, HEADER_BYTES)
      const kid = bytes.subarray(1, 1 + KID_BYTES)
      const iv = bytes.subarray(1 + KID_BYTES, HEADER_BYTES)
      const body = bytes.subarray(HEADER_BYTES, bytes.length - TAG_BYTES)
      const tag = bytes.subarray(bytes.length - TAG_BYTES)
      for (const entry of entries) {
        if (!entry.kid.equals(kid)) continue
        try {
          const decipher = createDecipheriv('aes-256-gcm', entry.key, iv, { authTagLength: TAG_BYTES })
          decipher.setAAD(header)
          decipher.setAuthTag(tag)
          // final() checks the tag: the text is returned only once it passed.
          const plain = decipher.update(body, undefined, 'utf8')
          return plain + decipher.final('utf8')
        } catch {
          // A wrong tag: try the next key with the same id, if any.
        }
      }
      return null
    },
  }
}
