import type { FastifyBaseLogger } from 'fastify'
import type { SessionStorage } from '../storages/storage.js'
import type { Clock } from './clock.js'
import { parseFailure, type Codec } from './codec.js'
import { create, retire, rewrite, update } from './concurrency.js'
import type { Stamp } from './envelope.js'
import { FST_SESSIONS_CONFLICT, FST_SESSIONS_OPTIONS, FST_SESSIONS_STORAGE_UNAVAILABLE } from './errors.js'
import { storageKey } from './identity.js'
import { formatRecord, parseRecord, RETIRED } from './record.js'
import { Recent } from './recent.js'
import { ServerSlot, type InvalidReason, type Loaded } from './slot.js'
import { SessionEvents } from './session-events.js'
import type { SubjectIndex } from './subjects.js'
import type { Outgoing } from './transport.js'

// A server-side session: an id travels (through the transformers), the record lives in the
// storage under a hash of the provider name and the id.

/** A session the storage vouched for. */
export interface ServerLoaded extends Loaded {
  stamp: Stamp
  id: string
  key: string
  version: number
  /** The record as read, for compare-and-set writes. */
  stored: string
  /** Whom it belongs to, for providers with `subject`. */
  subject: string | null
}

/** A record the client pointed at that exists but cannot be used: its key, so that clear() or set() deletes it. */
export interface Unusable {
  reason: InvalidReason
  key: string
}

/**
 * What may be logged of a storage's error: its name, code and message, never its other fields
 * (an ioredis error carries the command's arguments, which hold the record).
 */
export function describeStorageError (error: unknown): { name?: string, code?: unknown, message?: string } {
  if (!(error instanceof Error)) return { message: String(error) }
  return { name: error.name, code: (error as { code?: unknown }).code, message: error.message }
}

export interface ServerOptions {
  storage: SessionStorage
  identity: () => string
  idPattern: RegExp
  /** Server-side writes are compare-and-set: a session changed since it was read is a conflict. */
  rejectConflicts: boolean
  /** The subject index, for providers with `subject` (see subjects.ts). */
  subjects?: SubjectIndex | null
}

export class ServerSide {
  readonly kind = 'server'
  readonly codec: Codec
  readonly clock: Clock
  readonly storage: SessionStorage
  readonly identity: () => string
  readonly idPattern: RegExp
  readonly rejectConflicts: boolean
  readonly subjects: SubjectIndex | null
  /** Watchers of sessions that end (live revocation, see session-events.ts). */
  readonly events: SessionEvents
  // Idle refreshes done by this process, by key: touch moves the storage's expiry without
  // rewriting the record, so the record alone cannot say a refresh just happened.
  private readonly touchedAt = new Recent<number>(10_000)
  // Storage keys of recently seen ids: a SHA-256 per request is a measurable share of a
  // server-side read, and the same ids come back request after request.
  // Weighed by length: ids are the client's, and a custom idPattern may allow long ones.
  private readonly keys = new Recent<string>(2 * 1024 * 1024, (id, key) => id.length + key.length + 64)

  constructor (codec: Codec, clock: Clock, options: ServerOptions) {
    this.codec = codec
    this.clock = clock
    this.storage = options.storage
    this.identity = options.identity
    // Without g and y, whose lastIndex would make test() alternate between requests.
    this.idPattern = new RegExp(options.idPattern.source, options.idPattern.flags.replace(/[gy]/g, ''))
    this.rejectConflicts = options.rejectConflicts
    this.subjects = options.subjects ?? null
    this.events = new SessionEvents(options.storage, this.subjects !== null)
  }

  slot (): ServerSlot {
    return new ServerSlot(this)
  }

  /** The storage key of an id (a hash of the provider name and the id). */
  keyOf (id: string): string {
    let key = this.keys.get(id)
    if (key === undefined) {
      key = storageKey(this.codec.name, id)
      this.keys.set(id, key)
    }
    return key
  }

  /** Reads the session a transport value names; rejects only when the storage fails. */
  read (raw: string, now: number, log: FastifyBaseLogger): Promise<ServerLoaded | Unusable | InvalidReason> | InvalidReason {
    const id = this.codec.unwrap(raw)
    if (id === 'malformed' || id === 'bad-signature') return id
    if (!this.idPattern.test(id)) return 'malformed'
    return this.fetch(id, this.keyOf(id), now, log)
  }

  /** Reads the record of `id`; a record that is gone or unusable reads as absent. */
  async fetch (id: string, key: string, now: number, log: FastifyBaseLogger): Promise<ServerLoaded | Unusable | InvalidReason> {
    let text: string | null
    try {
      text = await this.storage.read(key)
    } catch (error) {
      throw this.unavailable(log, 'read', error)
    }
    if (text === null || text === RETIRED) return 'not-found'
    // A record exists from here on: even when it cannot be used (another schema, expired), its key
    // is kept, so that clear() or set() deletes it (a rollback must not revive it).
    const record = parseRecord(text)
    if (record === null) return { reason: 'malformed', key }
    const stamp = this.clock.limit(record.stamp)
    // With touch, idle expiry is the storage's (touch moves it without rewriting the record).
    const ended = this.clock.ended(stamp, now, this.storage.touch === undefined)
    if (ended !== null) return { reason: ended, key }
    const value = this.codec.parse(record.payload)
    const failure = parseFailure(value)
    if (failure !== null) return { reason: failure, key }
    const refresh = this.clock.idleTimeout !== null && this.clock.refreshDue(Math.max(stamp.seen, this.touchedAt.get(key) ?? 0), now)
    const subject = this.subjects === null ? null : this.subjects.subjectOf(value, log)
    return { value, text: record.payload, stamp, refresh, id, key, version: record.version, stored: text, subject }
  }

  /**
   * Writes a set session (a new id when it has none); its header joins `out`. Rejects with
   * FST_SESSIONS_CONFLICT or FST_SESSIONS_STORAGE_UNAVAILABLE, and the slot then is unchanged.
   */
  async write (slot: ServerSlot, now: number, log: FastifyBaseLogger, out: Outgoing[]): Promise<void> {
    const stamp = slot.stamp
    // `set` and `regenerate` leave a stamp on every set session.
    if (stamp === null) throw new TypeError(`session "${this.codec.name}" was set without its times`)
    let id = slot.id
    let key = slot.key
    if (id === null || key === null) {
      id = this.identity()
      if (!this.idPattern.test(id)) throw new FST_SESSIONS_OPTIONS(`identity() of "${this.codec.name}" made an id that its idPattern refuses`)
      key = this.keyOf(id)
    }
    const record = formatRecord({ stamp: this.clock.seen(stamp, now), version: slot.version + 1, payload: slot.text })
    const expiresAt = this.clock.storageExpiry(stamp, now)
    const storage = this.storage
    let written: boolean
    let subject: string | null = null
    try {
      // Indexed before it is stored: a session is never stored where "log out everywhere" cannot find it.
      if (this.subjects !== null) subject = await this.subjects.index(slot.value, key, now, expiresAt, slot.request)
      if (slot.origin !== null && !await retire(storage, slot.origin, slot.stored, now, this.rejectConflicts)) throw new FST_SESSIONS_CONFLICT(this.codec.name)
      const writing = slot.id === null ? create(storage, key, record, expiresAt) : update(storage, key, slot.stored, record, expiresAt, this.rejectConflicts)
      if (slot.stale === null) {
        written = await writing
      } else {
        const [ok] = await Promise.all([writing, ...slot.stale.map((k) => storage.invalidate(k))])
        written = ok
      }
    } catch (error) {
      if (error instanceof FST_SESSIONS_CONFLICT) throw error
      throw this.unavailable(log, 'written', error)
    }
    if (!written) throw new FST_SESSIONS_CONFLICT(this.codec.name)
    out.push([this.codec.transport, this.codec.wrap(id), stamp.expires])
    if (slot.stale !== null) this.events.ended(slot.stale)
    if (this.subjects !== null) await this.unindexMoved(slot, subject, key, log)
    // What the storage now holds, for a later write of this request (after save()).
    slot.id = id
    slot.key = key
    slot.stored = record
    slot.version++
    slot.stale = null
    slot.origin = null
    slot.subject = subject
  }

  // Keys this write ended (regenerate), and this key under a subject it no longer has, leave the index.
  private async unindexMoved (slot: ServerSlot, subject: string | null, key: string, log: FastifyBaseLogger): Promise<void> {
    const index = this.subjects as SubjectIndex
    const before = slot.subject ?? subject
    const ended = slot.stale ?? []
    if (before !== subject && slot.id !== null) await index.forget(before, [...ended, key], log)
    else await index.forget(before, ended, log)
  }

  async invalidate (keys: readonly string[], log: FastifyBaseLogger, subject: string | null = null): Promise<void> {
    try {
      await Promise.all(keys.map((key) => this.storage.invalidate(key)))
    } catch (error) {
      throw this.unavailable(log, 'invalidated', error)
    }
    this.events.ended(keys)
    if (this.subjects !== null) await this.subjects.forget(subject, keys, log)
  }

  /** An idle refresh moves the storage's expiry; a failure costs the refresh, not the request. */
  async refresh (slot: ServerSlot, now: number, log: FastifyBaseLogger): Promise<void> {
    const { stamp, key } = slot
    // Only a session read from the storage (with its times and key) is refreshed.
    if (stamp === null || key === null) return
    const expiresAt = this.clock.storageExpiry(stamp, now)
    try {
      // The index entry first: it must never expire before its session (see write).
      if (this.subjects !== null) await this.subjects.index(slot.value, key, now, expiresAt, slot.request)
      if (this.storage.touch !== undefined) {
        await this.storage.touch(key, expiresAt)
      } else {
        const record = formatRecord({ stamp: this.clock.seen(stamp, now), version: slot.version, payload: slot.text })
        await rewrite(this.storage, key, slot.stored, record, expiresAt)
      }
      this.touchedAt.set(key, now)
    } catch (error) {
      log.warn({ session: this.codec.name, storageError: describeStorageError(error) }, 'session idle refresh failed')
    }
  }

  // The response says only that the storage failed; the log gets what the storage said.
  private unavailable (log: FastifyBaseLogger, action: string, error: unknown): Error {
    log.error({ session: this.codec.name, storageError: describeStorageError(error) }, `session storage failed: could not be ${action}`)
    return new FST_SESSIONS_STORAGE_UNAVAILABLE(`session "${this.codec.name}" could not be ${action}`)
  }
}
