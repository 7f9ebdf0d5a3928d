import { createHash } from 'node:crypto'
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'
import type { SubjectEntry, WithSubjects } from '../storages/storage.js'
import type { Clock } from './clock.js'
import { parseFailure, type Codec } from './codec.js'
import type { Stamp } from './envelope.js'
import { parseRecord, RETIRED } from './record.js'

// The subject index of a server-side provider: which sessions belong to whom, kept by the
// storage's subject capability (storages/storage.ts) under an opaque hash of the subject. An entry
// is written before its session's record (a session is never stored unindexed, so "log out
// everywhere" finds it) and carries the session's metadata; the storage expires it with the
// session. Listing and revoking read each session's record and trust only what it says: an entry
// whose record is gone, or now belongs to another subject, is never shown nor revoked by it.

/** One session of a subject, as `list` and `sessionsOf` give it. Times are epoch milliseconds. */
export interface SessionListing {
  /** Opaque: names the session for `revoke`, never usable as its id. */
  handle: string
  /** The session of the request that asked. */
  current: boolean
  createdAt: number
  /** The last request that carried it, as of its last write or idle refresh. */
  lastSeenAt: number
  /** When it ends unless used again (idle timeout) or at all (absolute lifetime); null: never. */
  expiresAt: number | null
  userAgent?: string
  ip?: string
}

/** Which request details a provider keeps with each session for `list` (personal data: off by default). */
export interface SessionMetadataOptions {
  userAgent?: boolean
  ip?: boolean
}

/** The `metadata` provider option: `true` for both, or each by name. */
export type SessionMetadata = boolean | SessionMetadataOptions

interface Meta { s: number, ua?: string, ip?: string }

/** `subject(payload)`, with a throwing or odd function read as "nobody's". */
export function subjectOf (subject: (payload: never) => unknown, payload: unknown, log?: FastifyBaseLogger): string | null {
  try {
    const who = (subject as (payload: unknown) => unknown)(payload)
    return typeof who === 'string' && who !== '' ? who : null
  } catch (error) {
    log?.error({ err: error }, 'session subject() threw: the session is left out of its subject\'s index')
    return null
  }
}

/** A session's handle: a one-way hash of its storage key, shorter than any default id. */
export function handleOf (key: string): string {
  return createHash('sha256').update('fastify-sessions handle\0').update(key).digest('base64url').slice(0, 32)
}

export class SubjectIndex {
  readonly storage: WithSubjects
  readonly #codec: Codec
  readonly #clock: Clock
  readonly #subject: (payload: never) => unknown
  readonly #userAgent: boolean
  readonly #ip: boolean

  constructor (storage: WithSubjects, codec: Codec, clock: Clock, subject: (payload: never) => unknown, metadata: SessionMetadata) {
    this.storage = storage
    this.#codec = codec
    this.#clock = clock
    this.#subject = subject
    this.#userAgent = metadata === true || (typeof metadata === 'object' && metadata.userAgent === true)
    this.#ip = metadata === true || (typeof metadata === 'object' && metadata.ip === true)
  }

  subjectOf (payload: unknown, log?: FastifyBaseLogger): string | null {
    return payload === null ? null : subjectOf(this.#subject, payload, log)
  }

  /** The storage's name for a subject: a hash, so no user id appears in a key. */
  keyOf (subject: string): string {
    return createHash('sha256').update(this.#codec.name).update('\0subject\0').update(subject).digest('base64url')
  }

  /** Indexes `key` under the payload's subject before its record is written; the subject, or null. */
  async index (payload: unknown, key: string, seen: number, expiresAt: number | null, request: FastifyRequest | null): Promise<string | null> {
    const subject = this.subjectOf(payload, request?.log)
    if (subject === null) return null
    const meta: Meta = { s: seen }
    if (this.#userAgent && typeof request?.headers['user-agent'] === 'string') meta.ua = request.headers['user-agent'].slice(0, 512)
    if (this.#ip && request !== null) meta.ip = request.ip
    await this.storage.indexSubject(this.keyOf(subject), key, JSON.stringify(meta), expiresAt)
    return subject
  }

  /** Removes ended sessions' keys from their subject's index; a failure is logged (lookups verify anyway). */
  async forget (subject: string | null, keys: readonly string[], log: FastifyBaseLogger): Promise<void> {
    if (subject === null || keys.length === 0) return
    try {
      await this.storage.unindexSubject(this.keyOf(subject), keys)
    } catch (error) {
      log.warn({ session: this.#codec.name, err: error }, 'a session ended but its subject index entry could not be removed (it expires with the session)')
    }
  }

  /** The live entries of `subject`, each with what its record says, or `null` for a session gone or now another's. */
  async #entries (subject: string): Promise<Array<{ entry: SubjectEntry, stamp: Stamp | null }>> {
    const entries = await this.storage.subjectEntries(this.keyOf(subject))
    return await Promise.all(entries.map(async (entry) => ({ entry, stamp: await this.#verify(entry.key, subject) })))
  }

  async #verify (key: string, subject: string): Promise<Stamp | null> {
    const text = await this.storage.read(key)
    if (text === null || text === RETIRED) return null
    const record = parseRecord(text)
    if (record === null) return null
    const value = this.#codec.parse(record.payload)
    if (parseFailure(value) !== null || this.subjectOf(value) !== subject) return null
    const stamp = this.#clock.limit(record.stamp)
    return this.#clock.ended(stamp, Date.now(), this.storage.touch === undefined) === null ? stamp : null
  }

  async list (subject: string, currentKey: string | null): Promise<SessionListing[]> {
    const out: SessionListing[] = []
    for (const { entry, stamp } of await this.#entries(subject)) {
      if (stamp === null) continue
      out.push(this.#listing(entry, stamp, entry.key === currentKey))
    }
    return out.sort((a, b) => b.lastSeenAt - a.lastSeenAt || a.createdAt - b.createdAt)
  }

  #listing (entry: SubjectEntry, stamp: Stamp, current: boolean): SessionListing {
    let meta: Partial<Meta> = {}
    try {
      meta = JSON.parse(entry.value) as Partial<Meta>
    } catch {}
    const lastSeenAt = Math.max(stamp.seen, typeof meta.s === 'number' ? meta.s : 0)
    const listing: SessionListing = { handle: handleOf(entry.key), current, createdAt: stamp.created, lastSeenAt, expiresAt: this.#expiry(stamp, lastSeenAt) }
    if (typeof meta.ua === 'string') listing.userAgent = meta.ua
    if (typeof meta.ip === 'string') listing.ip = meta.ip
    return listing
  }

  #expiry (stamp: Stamp, seen: number): number | null {
    const idle = this.#clock.idleTimeout === null ? null : seen + this.#clock.idleTimeout
    if (stamp.expires === null) return idle
    return idle === null ? stamp.expires : Math.min(idle, stamp.expires)
  }

  /**
   * Ends the sessions of `subject` that `pick` selects (by key); resolves the keys ended. An entry
   * whose record is gone may be a session being created right now: its key is invalidated too, and
   * its entry kept (it expires with it), so a later revocation still finds it.
   */
  async revoke (subject: string, pick: (key: string) => boolean): Promise<string[]> {
    const entries = await this.storage.subjectEntries(this.keyOf(subject))
    const ended: string[] = []
    const dropped: string[] = []
    await Promise.all(entries.filter((e) => pick(e.key)).map(async ({ key }) => {
      const text = await this.storage.read(key)
      const mine = text === null || (await this.#verify(key, subject)) !== null || text === RETIRED
      if (mine) {
        await this.storage.invalidate(key)
        ended.push(key)
      }
      if (text !== null) dropped.push(key)
    }))
    if (dropped.length > 0) await this.storage.unindexSubject(this.keyOf(subject), dropped)
    return ended
  }
}
