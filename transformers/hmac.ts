import { createHmac, getHashes } from 'node:crypto'
import { optionsError } from '../lib/options.js'

const hashes = new Set(getHashes())

/**
 * The Node hash name for an HMAC algorithm given either way: `sha256` or Ktor's `HmacSHA256`.
 * Unknown names are refused when the transformer is made, not at the first request.
 */
export function hmacAlgorithm (name: string, label: string): string {
  const match = /^hmac(sha[0-9-]+)$/i.exec(name)
  const algorithm = (match?.[1] ?? name).toLowerCase()
  if (!hashes.has(algorithm)) throw optionsError(label, `unknown algorithm "${name}"`)
  createHmac(algorithm, 'probe').digest()
  return algorithm
}

/** How many bytes an HMAC with this hash produces. */
export function macLength (algorithm: string): number {
  return createHmac(algorithm, 'probe').digest().length
}
