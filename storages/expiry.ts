// Expiry arithmetic shared by the in-memory storages (not part of the public surface).

/** The clock lru-cache is given: Date.now(), so tests that fake it are obeyed. */
export const dateClock = { now: (): number => Date.now() }

export function checkExpiry (expiresAt: unknown): void {
  if (expiresAt !== null && (typeof expiresAt !== 'number' || Number.isNaN(expiresAt))) {
    throw new TypeError('expiresAt must be an epoch time in milliseconds or null')
  }
}

/**
 * The TTL to hand lru-cache for an absolute expiry: `0` (its "never") for `null`, `-1` when the
 * entry is already expired. lru-cache calls an entry stale when `now - start > ttl`; with
 * `ttl = expiresAt - start - 0.5` that is `now >= expiresAt` for whole milliseconds, and the TTL
 * of an entry that is still live is never 0.
 */
export function ttlUntil (expiresAt: number | null, now: number): number {
  checkExpiry(expiresAt)
  if (expiresAt === null || expiresAt === Infinity) return 0
  const at = Math.ceil(expiresAt)
  return at <= now ? -1 : at - now - 0.5
}
