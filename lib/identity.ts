import { createHash, randomFillSync } from 'node:crypto'

// Session ids: 256 bits from the system CSPRNG, base64url (43 characters). Random bytes are drawn
// in batches, since one getrandom call per id costs more than the id itself (0.17 against 2.6 µs
// per id: bench/micro/identity.ts).

export const DEFAULT_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/

const ID_BYTES = 32
const BATCH = ID_BYTES * 128
const pool = Buffer.alloc(BATCH)
let offset = BATCH

export function defaultIdentity (): string {
  if (offset === BATCH) {
    randomFillSync(pool)
    offset = 0
  }
  const id = pool.toString('base64url', offset, offset + ID_BYTES)
  // Wipe what was handed out, so the pool never holds an id that is in use.
  pool.fill(0, offset, offset + ID_BYTES)
  offset += ID_BYTES
  return id
}

/**
 * The key a storage sees: SHA-256 over the provider name and the id. A leaked store yields no
 * usable cookie, providers sharing a storage never meet, and no id chooses a path or a Redis key.
 */
export function storageKey (providerName: string, id: string): string {
  return createHash('sha256').update(providerName).update('\0').update(id).digest('base64url')
}
