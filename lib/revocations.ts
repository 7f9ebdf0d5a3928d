import { createHash } from 'node:crypto'
import type { SessionStorage } from '../storages/storage.js'
import type { Clock } from './clock.js'
import { base36 } from './envelope.js'
import { FST_SESSIONS_STORAGE_UNAVAILABLE } from './errors.js'
import { Recent } from './recent.js'

// "Log out everywhere" for client-side sessions, which no server holds: `revokeAll` records a
// not-before time for the subject in the `revocations` storage, and a value created before it
// reads as absent (reason `revoked`). Reads ask the storage at most once per subject per
// STALENESS_MS in each process, so another process may accept a revoked value for that long;
// the process that revoked knows at once.

/** How long a process trusts what it last read of a subject's revocation. */
export const REVOCATION_STALENESS_MS = 1000

interface Known { notBefore: number, fetched: number }

export class Revocations {
  readonly storage: SessionStorage
  readonly #name: string
  readonly #clock: Clock
  // Bounded by count: one entry per subject recently seen, whatever the clients send.
  readonly #known = new Recent<Known>(10_000)

  constructor (storage: SessionStorage, name: string, clock: Clock) {
    this.storage = storage
    this.#name = name
    this.#clock = clock
  }

  #keyOf (subject: string): string {
    return 'revoked:' + createHash('sha256').update(this.#name).update('\0revoked\0').update(subject).digest('base64url')
  }

  /** The subject's not-before time (0: none), from memory while fresh, else a promise of the storage's answer. */
  notBefore (subject: string, now: number): number | Promise<number> {
    const known = this.#known.get(subject)
    if (known !== undefined && now - known.fetched < REVOCATION_STALENESS_MS) return known.notBefore
    return this.#fetch(subject, now)
  }

  async #fetch (subject: string, now: number): Promise<number> {
    let text: string | null
    try {
      text = await this.storage.read(this.#keyOf(subject))
    } catch (error) {
      // Fails closed: a value that might be revoked is not accepted unchecked.
      throw new FST_SESSIONS_STORAGE_UNAVAILABLE(`the revocations of session "${this.#name}" could not be read`, { cause: error })
    }
    const parsed = text === null ? 0 : Number.parseInt(text, 36)
    const notBefore = Number.isSafeInteger(parsed) && parsed > 0 ? parsed : 0
    this.#known.set(subject, { notBefore, fetched: now })
    return notBefore
  }

  /** Every value of `subject` created before `now` reads as revoked from now on. */
  async revokeAll (subject: string, now: number): Promise<void> {
    // Kept while a value created before it could still be live.
    const limit = this.#clock.maxAgeLimit
    await this.storage.write(this.#keyOf(subject), base36(now), limit === null ? null : now + limit)
    this.#known.set(subject, { notBefore: now, fetched: now })
  }
}
