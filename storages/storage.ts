/**
 * Where a server-side session lives. The plugin hands a storage only opaque keys (a hash of the
 * provider name and the session id) and opaque values (a record around the serialized payload),
 * so a storage needs no knowledge of sessions: it keeps strings until they expire.
 *
 * `read`, `write` and `invalidate` are the contract; the optional methods are capabilities a
 * storage declares by having them (the plugin and `cacheStorage` check for each before use), and
 * the exported conformance suite tests each one a storage has.
 */
export interface SessionStorage {
  /** The value written under `key`, or `null` when it is unknown or past its expiry. */
  read (key: string): Promise<string | null>
  /** Stores `value` under `key` until `expiresAt` (epoch milliseconds; `null`: no expiry). */
  write (key: string, value: string, expiresAt: number | null): Promise<void>
  /** Forgets `key`; unknown keys are not an error. */
  invalidate (key: string): Promise<void>
  /** Moves the expiry of `key` without rewriting its value (idle refresh); creates nothing. */
  touch? (key: string, expiresAt: number | null): Promise<void>
  /**
   * Compare-and-set, for `concurrency: 'reject'`: writes `value` only when the stored value is
   * still exactly `expected` (`null`: only when `key` is absent or expired), atomically with
   * respect to every other write of the same key. Resolves whether it wrote.
   */
  compareAndWrite? (key: string, expected: string | null, value: string, expiresAt: number | null): Promise<boolean>
  /**
   * The value under `key` with its expiry, or `null` as `read` would answer; lets a cache in
   * front (`cacheStorage`) keep a value it read no longer than the record lives.
   */
  readEntry? (key: string): Promise<StoredEntry | null>
  /**
   * Subject index (a user's sessions): adds or replaces the entry of session `key` under
   * `subject` (an opaque hash), carrying `value` (small metadata), until `expiresAt`. Entries
   * expire like values do; adding prunes the subject's expired entries, so an index holds at
   * most its live sessions. The three subject methods come together.
   */
  indexSubject? (subject: string, key: string, value: string, expiresAt: number | null): Promise<void>
  /** The live entries under `subject` (any order; none for an unknown subject). */
  subjectEntries? (subject: string): Promise<SubjectEntry[]>
  /** Removes the entries of `keys` under `subject`; unknown ones are not an error. */
  unindexSubject? (subject: string, keys: readonly string[]): Promise<void>
  /**
   * Live revocation across processes: tells every process sharing the storage that the sessions
   * under `keys` ended (logout, regenerate, revocation), for the WebSockets that watch them.
   */
  publishEnded? (keys: readonly string[]): Promise<void>
  /** Calls `listener` with the keys every `publishEnded` (of any process) names; resolves once listening. */
  subscribeEnded? (listener: (keys: string[]) => void): Promise<void>
  /** Frees what the storage created itself. Idempotent. */
  close? (): Promise<void>
}

/** A stored value with its expiry (epoch ms, `null`: none). */
export interface StoredEntry {
  value: string
  expiresAt: number | null
}

/** An entry of a subject index: a session's key, its metadata, its expiry. */
export interface SubjectEntry {
  key: string
  value: string
  expiresAt: number | null
}

/** The optional methods of `SessionStorage`. */
export type StorageCapability = 'touch' | 'compareAndWrite' | 'readEntry' | 'close' | 'publishEnded' | 'subscribeEnded' | SubjectCapability

/** The methods of the subject index capability, which a storage has all or none of. */
export type SubjectCapability = 'indexSubject' | 'subjectEntries' | 'unindexSubject'

/** A storage that has the capabilities `C` (e.g. `StorageWith<'touch' | 'close'>`). */
export type StorageWith<C extends StorageCapability> = SessionStorage & Required<Pick<SessionStorage, C>>

export type WithTouch = StorageWith<'touch'>
export type WithCompareAndWrite = StorageWith<'compareAndWrite'>
export type WithReadEntry = StorageWith<'readEntry'>
export type WithClose = StorageWith<'close'>
export type WithSubjects = StorageWith<SubjectCapability>

/** Whether `storage` has the optional method `capability`. */
export function hasCapability<C extends StorageCapability> (storage: SessionStorage, capability: C): storage is StorageWith<C> {
  return typeof storage[capability] === 'function'
}

/** Whether `storage` keeps a subject index (all three of its methods). */
export function hasSubjects (storage: SessionStorage): storage is WithSubjects {
  return hasCapability(storage, 'indexSubject') && hasCapability(storage, 'subjectEntries') && hasCapability(storage, 'unindexSubject')
}
