import Type, { type Static } from 'typebox'
import { parseOptions } from '../lib/options.js'
import { strictBase64url } from './base64url.js'
import { keyId, keyList, type KeyInput } from './keys.js'
import { loadSodium, type Sodium } from './sodium.js'
import type { SessionTransportTransformer } from './transformer.js'

const LABEL = 'secretbox()'

/*
 * Format, version 1: base64url without padding of
 *
 *   version (1 byte, 0x01) | key id (4 bytes) | nonce (24 bytes) | Poly1305 tag (16 bytes) | ciphertext
 *
 * libsodium's crypto_secretbox_easy (XSalsa20-Poly1305) with a random 192-bit nonce, which is
 * large enough to draw at random without counting. The box has no additional data: a changed
 * version byte is refused by the version check, and a changed key id names no key (or a key that
 * cannot open the box). The key id is the first 4 bytes of HMAC-SHA256(key, label), as `encrypt`.
 */
export const SECRETBOX_VERSION = 1
const KID_BYTES = 4
const NONCE_BYTES = 24
const MAC_BYTES = 16
const HEADER_BYTES = 1 + KID_BYTES + NONCE_BYTES
const MIN_BYTES = HEADER_BYTES + MAC_BYTES
const KID_LABEL = 'fastify-sessions secretbox key id'
// In a `u` regex a surrogate class matches only unpaired halves, which UTF-8 cannot carry.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u

export const SecretboxOptionsSchema = Type.Object({
  /** Exactly 32 bytes; or a list of them, where the first encrypts and every one decrypts. */
  key: Type.Unsafe<KeyInput>({}),
}, { additionalProperties: false })

export type SecretboxOptions = Static<typeof SecretboxOptionsSchema>

interface Entry { key: Buffer, kid: Buffer }

/** The 4-byte key id `secretbox` writes for `key`. */
export function secretboxKeyId (key: Uint8Array): Buffer {
  return keyId(key, KID_LABEL)
}

// Nonces come from libsodium's CSPRNG in batches, each handed out once.
const NONCE_BATCH = NONCE_BYTES * 128
let noncePool: Buffer | undefined
let nonceOffset = NONCE_BATCH

function freshNonce (sodium: Sodium, target: Buffer, at: number): void {
  if (nonceOffset === NONCE_BATCH || noncePool === undefined) {
    noncePool ??= Buffer.alloc(NONCE_BATCH)
    sodium.randombytes_buf(noncePool)
    nonceOffset = 0
  }
  noncePool.copy(target, at, nonceOffset, nonceOffset + NONCE_BYTES)
  nonceOffset += NONCE_BYTES
}

/**
 * Authenticated encryption with libsodium's secretbox (XSalsa20-Poly1305) through the optional
 * peer dependency `sodium-native`: the fastest encrypted cookies. A version byte and a key id lead
 * the value; with a list of keys the first encrypts and every one decrypts (rotation, as `encrypt`).
 */
export function secretbox (options: SecretboxOptions): SessionTransportTransformer {
  const opts = parseOptions(SecretboxOptionsSchema, options, LABEL)
  const keys = keyList(opts.key, { label: `${LABEL} key (XSalsa20-Poly1305)`, lengths: [32] })
  const sodium = loadSodium(LABEL)
  const entries: Entry[] = keys.map((key) => ({ key, kid: secretboxKeyId(key) }))
  const writer = entries[0] as Entry
  // The plaintext of a write, reused: writes are synchronous.
  let scratch = Buffer.allocUnsafe(1024)

  return {
    transformWrite (value: string): string {
      if (LONE_SURROGATE.test(value)) throw new Error('secretbox(): the value holds an unpaired surrogate, which UTF-8 cannot carry')
      const length = Buffer.byteLength(value, 'utf8')
      if (length > scratch.length) scratch = Buffer.allocUnsafe(length * 2)
      scratch.write(value, 0, 'utf8')
      const out = Buffer.allocUnsafe(MIN_BYTES + length)
      out[0] = SECRETBOX_VERSION
      writer.kid.copy(out, 1)
      freshNonce(sodium, out, 1 + KID_BYTES)
      sodium.crypto_secretbox_easy(out.subarray(HEADER_BYTES), scratch.subarray(0, length), out.subarray(1 + KID_BYTES, HEADER_BYTES), writer.key)
      return out.toString('base64url')
    },
    transformRead (transportValue: string): string | null {
      const bytes = strictBase64url(transportValue)
      if (bytes === null || bytes.length < MIN_BYTES || bytes[0] !== SECRETBOX_VERSION) return null
      const kid = bytes.subarray(1, 1 + KID_BYTES)
      const nonce = bytes.subarray(1 + KID_BYTES, HEADER_BYTES)
      const box = bytes.subarray(HEADER_BYTES)
      for (const entry of entries) {
        if (!entry.kid.equals(kid)) continue
        const plain = Buffer.allocUnsafe(box.length - MAC_BYTES)
        if (sodium.crypto_secretbox_open_easy(plain, box, nonce, entry.key)) return plain.toString('utf8')
      }
      return null
    },
  }
}
