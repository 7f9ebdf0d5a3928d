import type { Stamp } from './envelope.js'
import { FST_SESSIONS_INVALID_PAYLOAD } from './errors.js'
import { MAX_SECONDS, tooLong } from './option-checks.js'

// The clock rules of one provider, in one place: the absolute lifetime (maxAge, capped by
// maxAgeLimit, or a session's own maxAge), the idle timeout, and when an idle refresh is due.
// Times are epoch milliseconds; the options are seconds.

// How far ahead of this server's clock a client-side stamp may be (other servers' clocks).
const CLOCK_SKEW = 60_000

export interface Lifetimes {
  /** Seconds, or null for no absolute lifetime. */
  maxAge: number | null
  /** Seconds, null for none, or undefined to follow maxAge. */
  maxAgeLimit?: number | null | undefined
  /** Seconds, or null. */
  idleTimeout: number | null
}

export class Clock {
  readonly name: string
  /** Milliseconds, or null. */
  readonly maxAge: number | null
  /** The longest absolute lifetime any session may have, in milliseconds, or null. */
  readonly maxAgeLimit: number | null
  readonly idleTimeout: number | null
  /** A tenth of the idle window: refreshes happen at most this often. */
  readonly refreshEvery: number

  constructor (name: string, lifetimes: Lifetimes) {
    this.name = name
    this.maxAge = lifetimes.maxAge === null ? null : lifetimes.maxAge * 1000
    const limit = lifetimes.maxAgeLimit
    this.maxAgeLimit = limit === undefined ? this.maxAge : limit === null ? null : limit * 1000
    this.idleTimeout = lifetimes.idleTimeout === null ? null : lifetimes.idleTimeout * 1000
    this.refreshEvery = this.idleTimeout === null ? Infinity : this.idleTimeout / 10
  }

  /** Times for a session set at `now`: created and expiry carry over from the current session. */
  stamp (current: Stamp | null, now: number): Stamp {
    if (current !== null) return this.seen(current, now)
    return { created: now, seen: now, expires: this.maxAge === null ? null : now + this.maxAge }
  }

  /** The same session, seen at `now` (a write or an idle refresh). */
  seen (stamp: Stamp, now: number): Stamp {
    return { created: stamp.created, seen: now, expires: stamp.expires }
  }

  /** A client-side value issued again at `now` (regenerate): a new creation, the same expiry. */
  reissued (current: Stamp | null, now: number): Stamp {
    const expires = current === null ? (this.maxAge === null ? null : now + this.maxAge) : current.expires
    return { created: now, seen: now, expires }
  }

  /** `stamp` with its own lifetime of `maxAge` seconds; throws when it is out of bounds. */
  withLifetime (stamp: Stamp, maxAge: number): Stamp {
    if (!Number.isInteger(maxAge) || maxAge < 1) {
      throw new FST_SESSIONS_INVALID_PAYLOAD(this.name, 'maxAge must be a whole number of seconds, at least 1')
    }
    if (maxAge > MAX_SECONDS) throw new FST_SESSIONS_INVALID_PAYLOAD(this.name, tooLong('maxAge', maxAge))
    if (this.maxAgeLimit !== null && maxAge * 1000 > this.maxAgeLimit) {
      throw new FST_SESSIONS_INVALID_PAYLOAD(this.name, `maxAge ${maxAge} is above the provider's maxAgeLimit (${this.maxAgeLimit / 1000}); raise maxAgeLimit to allow it`)
    }
    return { created: stamp.created, seen: stamp.seen, expires: stamp.created + maxAge * 1000 }
  }

  /**
   * The stamp with its expiry brought within `created + maxAgeLimit`: a session issued under a
   * longer lifetime (before a redeploy, or by a later-lowered limit) ends as the limit says now.
   */
  limit (stamp: Stamp): Stamp {
    const limit = this.maxAgeLimit
    if (limit === null) return stamp
    const latest = stamp.created + limit
    return stamp.expires !== null && stamp.expires <= latest ? stamp : { created: stamp.created, seen: stamp.seen, expires: latest }
  }

  /** Times in the future beyond other servers' clock skew, which only a forgery or a leaked key makes. */
  fromTheFuture (stamp: Stamp, now: number): boolean {
    return stamp.created > now + CLOCK_SKEW || stamp.seen > now + CLOCK_SKEW
  }

  /**
   * 'expired' or 'idle' when the stamp's clocks have run out at `now`. `idle` false leaves the idle
   * timeout to a storage that moves its own expiry (touch).
   */
  ended (stamp: Stamp, now: number, idle: boolean): 'expired' | 'idle' | null {
    if (stamp.expires !== null && now >= stamp.expires) return 'expired'
    if (idle && this.idleTimeout !== null && now >= stamp.seen + this.idleTimeout) return 'idle'
    return null
  }

  /** Whether a session last seen at `seen` is due an idle refresh at `now`. */
  refreshDue (seen: number, now: number): boolean {
    return now - seen >= this.refreshEvery
  }

  /** When a storage should drop the record: the absolute expiry or the idle deadline, whichever is first. */
  storageExpiry (stamp: Stamp, now: number): number | null {
    const idle = this.idleTimeout === null ? null : now + this.idleTimeout
    if (stamp.expires === null) return idle
    return idle === null ? stamp.expires : Math.min(idle, stamp.expires)
  }
}
