import * as crypto from 'node:crypto'
import { optionsError } from '../lib/options.js'

const { createHmac, getHashes } = crypto
const hashes = new Set(getHashes())

// Hashes an HMAC may use: SHA-2, SHA-3 and BLAKE2. SHA-1 is kept for Ktor services configured with
// HmacSHA1, with a warning; MD5, RIPEMD-160, the SSL 3 and RSA aliases and the XOFs (shake128, whose
// output length HMAC cannot use) are refused.
const STRONG = new Set(['sha224', 'sha256', 'sha384', 'sha512', 'sha512-224', 'sha512-256',
  'sha3-224', 'sha3-256', 'sha3-384', 'sha3-512', 'blake2b512', 'blake2s256'])
const LEGACY = new Set(['sha1'])

export interface HmacChoice {
  /** Node's hash name. */
  algorithm: string
  /** What to log at registration about this choice. */
  warnings: string[]
}

/**
 * The Node hash name for an HMAC algorithm given either way: `sha256` or Ktor's (Java's)
 * `HmacSHA256`. Weak, unknown and unusable names are refused when the transformer is made, not at
 * the first request.
 */
export function hmacAlgorithm (name: string, label: string): HmacChoice {
  const match = /^hmac(sha[0-9/-]+)$/i.exec(name)
  const algorithm = (match?.[1] ?? name).toLowerCase().replace('/', '-')
  if (LEGACY.has(algorithm) && hashes.has(algorithm)) {
    return { algorithm, warnings: [`${label}: HMAC-SHA-1 is accepted for Ktor services that use HmacSHA1 only; use sha256 or stronger`] }
  }
  if (!hashes.has(algorithm)) {
    throw optionsError(label, `unknown algorithm "${name}": use sha256 (HmacSHA256), sha384 or sha512`)
  }
  if (!STRONG.has(algorithm)) {
    throw optionsError(label, `"${name}" is too weak for a MAC, or not one HMAC can use: use sha256 (HmacSHA256), sha384 or sha512`)
  }
  createHmac(algorithm, 'probe').digest()
  return { algorithm, warnings: [] }
}

/** How many bytes an HMAC with this hash produces. */
export function macLength (algorithm: string): number {
  return createHmac(algorithm, 'probe').digest().length
}

// Block sizes (RFC 2104's B) of the hashes computed by hand below; any other goes to createHmac.
const BLOCK_BYTES: Readonly<Record<string, number>> = { sha1: 64, sha224: 64, sha256: 64, sha384: 128, sha512: 128 }
// Messages up to this many UTF-16 units fit the buffer (3 UTF-8 bytes at most per unit); longer
// ones go to createHmac. Cookies stop at 4096 bytes.
const MAX_CHARS = 8192

/**
 * HMAC(key, message) as lowercase hex, for a key fixed at registration. createHmac builds a new
 * context per call, which costs more than the hashing of a cookie-sized message; here the padded
 * keys are made once and each MAC is two one-shot `crypto.hash` calls over reused buffers,
 * exactly as RFC 2104 defines it: H((K ^ opad) || H((K ^ ipad) || message)). 1.0 µs against
 * createHmac's 2.2 µs for a signed cookie's message (bench/micro/hmac.ts).
 */
export function hexMac (algorithm: string, key: Uint8Array): (message: string) => string {
  const keyObject = crypto.createSecretKey(key)
  const slow = (message: string): string => createHmac(algorithm, keyObject).update(message).digest('hex')
  const block = BLOCK_BYTES[algorithm]
  const hash = crypto.hash
  if (block === undefined || typeof hash !== 'function') return slow
  const k = key.length > block ? crypto.createHash(algorithm).update(key).digest() : key
  const inner = Buffer.alloc(block + MAX_CHARS * 3)
  const outer = Buffer.alloc(block + macLength(algorithm))
  for (let i = 0; i < block; i++) {
    const byte = k[i] ?? 0
    inner[i] = byte ^ 0x36
    outer[i] = byte ^ 0x5c
  }
  return (message: string): string => {
    if (message.length > MAX_CHARS) return slow(message)
    const length = block + inner.write(message, block, 'utf8')
    // 'binary' (latin1) text holds the digest's bytes one per character: the cheapest output.
    outer.write(hash(algorithm, inner.subarray(0, length), 'binary'), block, 'latin1')
    return hash(algorithm, outer, 'hex')
  }
}
