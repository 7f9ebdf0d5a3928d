/**
 * Where a server-side session lives. The plugin hands a storage only opaque keys (a hash of the
 * provider name and the session id) and opaque values (a record around the serialized payload),
 * so a storage needs no knowledge of sessions: it keeps strings until they expire.
 */
export interface SessionStorage {
  /** The value written under `key`, or `null` when it is unknown or past its expiry. */
  read (key: string): Promise<string | null>
  /** Stores `value` under `key` until `expiresAt` (epoch milliseconds; `null`: no expiry). */
  write (key: string, value: string, expiresAt: number | null): Promise<void>
  /** Forgets `key`; unknown keys are not an error. */
  invalidate (key: string): Promise<void>
  /** Moves the expiry of `key` without rewriting its value (idle refresh). */
  touch? (key: string, expiresAt: number | null): Promise<void>
  /**
   * Compare-and-set, for `concurrency: 'reject'`: writes `value` only when the stored value is
   * still exactly `expected` (`null`: only when `key` is absent or expired), atomically with
   * respect to every other write of the same key. Resolves whether it wrote.
   */
  compareAndWrite? (key: string, expected: string | null, value: string, expiresAt: number | null): Promise<boolean>
  /** Frees what the storage created itself. Idempotent. */
  close? (): Promise<void>
}
