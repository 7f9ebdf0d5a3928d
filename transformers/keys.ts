import { createHmac, createSecretKey, type KeyObject } from 'node:crypto'
import { optionsError } from '../lib/options.js'

/** Key material: bytes, or a list of them where the first writes and every one reads. */
export type KeyInput = Uint8Array | readonly Uint8Array[]

const HEX = /^(?:[0-9a-fA-F]{2})*$/

/**
 * Bytes from a hex string, like Ktor's `hex()`, but strict: an odd length or a character outside
 * the hex alphabet is an error, where `Buffer.from(s, 'hex')` would silently stop early.
 */
export function hex (text: string): Buffer {
  if (typeof text !== 'string' || !HEX.test(text)) {
    throw optionsError('hex()', 'expected an even-length string of hex digits')
  }
  return Buffer.from(text, 'hex')
}

/** True when `text` is made only of lowercase hex digits (what Ktor writes and compares). */
export function isLowerHex (text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false
  }
  return true
}

/** True when `text` is even-length hex in either case (how Ktor parses IVs and ciphertexts). */
export function isHex (text: string): boolean {
  return text.length % 2 === 0 && HEX.test(text)
}

interface KeyRule {
  /** What is being configured, for messages: `messageAuthentication({ key })`. */
  label: string
  /** Lengths refused below this. */
  minBytes?: number
  /** The only lengths allowed (AES keys). */
  lengths?: readonly number[]
}

/**
 * Normalizes one key or a list of keys into copies the caller cannot change afterwards. Strings
 * are refused: a passphrase is not a key, and `hex()` or `Buffer.from(x, 'base64')` says which
 * encoding is meant.
 */
export function keyList (input: unknown, rule: KeyRule): Buffer[] {
  const list = Array.isArray(input) ? input as unknown[] : [input]
  if (list.length === 0) throw optionsError(rule.label, 'needs at least one key')
  return list.map((key, index) => {
    const where = list.length > 1 ? ` (key ${index})` : ''
    if (!(key instanceof Uint8Array)) {
      throw optionsError(rule.label, `a key must be bytes${where}: use hex('…') or Buffer.from(text, 'base64')`)
    }
    if (rule.lengths !== undefined && !rule.lengths.includes(key.length)) {
      throw optionsError(rule.label, `a key must be ${rule.lengths.join(', ')} bytes long, not ${key.length}${where}`)
    }
    if (rule.minBytes !== undefined && key.length < rule.minBytes) {
      throw optionsError(rule.label, `a key must be at least ${rule.minBytes} bytes long, not ${key.length}${where}; make one with: node -e "console.log(require('crypto').randomBytes(32).toString('hex'))"`)
    }
    return Buffer.from(key)
  })
}

/** Secret key objects, made once: hashing with a KeyObject skips re-importing the key per call. */
export function secretKeys (keys: readonly Buffer[]): KeyObject[] {
  return keys.map((key) => createSecretKey(key))
}

/**
 * A key's 4-byte id, as `encrypt` and `secretbox` write it before their ciphertext: the first
 * bytes of HMAC-SHA256(key, label). It names the key without telling anything about it, so a read
 * tries only the key whose id matches.
 */
export function keyId (key: Uint8Array, label: string): Buffer {
  return createHmac('sha256', key).update(label).digest().subarray(0, 4)
}
