import { createHash, getHashes, timingSafeEqual } from 'node:crypto'
import Type, { type Static } from 'typebox'
import { optionsError, parseOptionsWithDefaults, withDefault } from '../lib/options.js'
import { isLowerHex } from './keys.js'
import type { SessionTransportTransformer } from './transformer.js'

const LABEL = 'digest()'
const hashes = new Set(getHashes())

export const DigestOptionsSchema = Type.Object({
  /** Prepended to the value before hashing; Ktor's default is "ktor". */
  salt: withDefault(Type.String(), 'ktor'),
  /** Ktor's (Java's) name, `SHA-384` by default, or Node's (`sha384`). */
  algorithm: withDefault(Type.String(), 'SHA-384'),
}, { additionalProperties: false })

export type DigestOptions = Static<typeof DigestOptionsSchema>

/** Node's name for a Java MessageDigest name: `SHA-384` → `sha384`, `SHA-512/256` → `sha512-256`. */
function hashAlgorithm (name: string): string {
  const algorithm = name.toLowerCase().replace(/^sha-(?=\d)/, 'sha').replace('/', '-')
  if (!hashes.has(algorithm) || /^(?:shake|rsa)/.test(algorithm)) throw optionsError(LABEL, `unknown algorithm "${name}"`)
  createHash(algorithm).update('probe').digest()
  return algorithm
}

/**
 * Ktor 1.x's SessionTransportTransformerDigest: `value/hex(hash(salt + value))`. It is not a MAC:
 * the salt is no secret worth the name (Ktor's default is "ktor"), so anyone can compute a valid
 * value. It exists to read and write cookies of old Ktor services only. Ktor's reader also
 * accepted uppercase and odd-length signatures; this one accepts only what Ktor writes.
 */
export function digest (options: DigestOptions = {}): SessionTransportTransformer {
  const opts = parseOptionsWithDefaults(DigestOptionsSchema, options, LABEL)
  const algorithm = hashAlgorithm(opts.algorithm)
  const salt = Buffer.from(opts.salt, 'utf8')
  const hash = (value: string): Buffer => createHash(algorithm).update(salt).update(value, 'utf8').digest()
  const hexLength = hash('').length * 2

  return {
    warnings: [
      `${LABEL} is not a MAC: anyone can compute a value it accepts; use it only for cookies of old Ktor services, and messageAuthentication() or encrypt() for everything else`,
    ],
    transformWrite (value: string): string {
      return value + '/' + hash(value).toString('hex')
    },
    transformRead (transportValue: string): string | null {
      if (typeof transportValue !== 'string') return null
      const slash = transportValue.lastIndexOf('/')
      if (slash < 0 || transportValue.length - slash - 1 !== hexLength) return null
      const signature = transportValue.slice(slash + 1)
      if (!isLowerHex(signature)) return null
      const value = transportValue.slice(0, slash)
      return timingSafeEqual(hash(value), Buffer.from(signature, 'hex')) ? value : null
    },
  }
}
