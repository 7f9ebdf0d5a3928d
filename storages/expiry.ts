// The one expiry rule of the storages (not part of the public surface). An expiry is an epoch time
// in milliseconds, a finite number, or `null` for none; anything else (NaN, Infinity, a string) is
// refused with a TypeError before any storage work. An entry is absent from the first millisecond
// `Date.now() >= expiresAt`, and a backend that counts whole milliseconds is given
// `Math.ceil(expiresAt)`, which draws the same line for the whole-millisecond times Date.now gives.

/** The clock lru-cache is given: Date.now(), so tests that fake it are obeyed. */
export const dateClock = { now: (): number => Date.now() }

/** What an expiry means at a given time: no expiry, already past, or a whole millisecond ahead. */
export type Expiry =
  | { readonly kind: 'never' }
  | { readonly kind: 'passed' }
  | { readonly kind: 'at', readonly at: number }

const NEVER: Expiry = { kind: 'never' }
const PASSED: Expiry = { kind: 'passed' }

/** Throws a TypeError unless `expiresAt` is an expiry: a finite number, or null. */
export function checkExpiry (expiresAt: unknown): asserts expiresAt is number | null {
  if (expiresAt !== null && !Number.isFinite(expiresAt)) {
    throw new TypeError('expiresAt must be a finite epoch time in milliseconds or null')
  }
}

/** Whether an entry with this expiry is absent at `now`. */
export function hasExpired (expiresAt: number | null, now: number = Date.now()): boolean {
  return expiresAt !== null && now >= expiresAt
}

/** Checks `expiresAt` and says what it means at `now`. */
export function expiryAt (expiresAt: number | null, now: number = Date.now()): Expiry {
  checkExpiry(expiresAt)
  if (expiresAt === null) return NEVER
  return hasExpired(expiresAt, now) ? PASSED : { kind: 'at', at: Math.ceil(expiresAt) }
}

/**
 * The TTL to hand lru-cache for an absolute expiry: `0` (its "never") for none, `-1` when the
 * entry is already expired. lru-cache calls an entry stale when `now - start > ttl`; with
 * `ttl = expiresAt - start - 0.5` that is `now >= expiresAt` for whole milliseconds, and the TTL
 * of an entry that is still live is never 0.
 */
export function ttlUntil (expiresAt: number | null, now: number): number {
  const expiry = expiryAt(expiresAt, now)
  if (expiry.kind === 'never') return 0
  return expiry.kind === 'passed' ? -1 : expiry.at - now - 0.5
}
