import type { Clock } from './clock.js'
import { parseFailure, type Codec } from './codec.js'
import { ENVELOPE_HEAD, envelopePrefix, legacyPrefix, looksLikeEnvelope, openEnvelope, sealEnvelope, type Stamp } from './envelope.js'
import { FST_SESSIONS_INVALID_PAYLOAD } from './errors.js'
import { detach, Recent } from './recent.js'
import type { Revocations } from './revocations.js'
import { subjectOf } from './subjects.js'
import { ClientSlot, type InvalidReason, type Loaded } from './slot.js'

// A client-side session: the serialized payload travels, in the envelope (its times and the
// provider's name) unless `envelope: false`, through the transformers.

/** A client-side value past its transformers and envelope: its payload text and times. */
interface Verified {
  /** The transport value itself: the cache is keyed by its end only, and a hit must match it whole. */
  raw: string
  text: string
  stamp: Stamp | null
}

const VERIFIED_KEY_CHARS = 32

function verifiedKey (raw: string): string {
  return raw.length <= VERIFIED_KEY_CHARS ? raw : raw.slice(-VERIFIED_KEY_CHARS)
}

export class ClientSide {
  readonly kind = 'client'
  readonly codec: Codec
  readonly clock: Clock
  readonly envelope: boolean
  /** `subject` and `revocations`, for providers that can log a subject out everywhere. */
  readonly revocations: { subject: (payload: never) => unknown, list: Revocations } | null
  private readonly prefix: string
  /** The version 1 envelope prefix while that format is still safe to read, or null. */
  private readonly legacy: string | null
  // Client-side values this process wrote or verified, by their exact transport form. A hit skips
  // the decoding and the transformers (a MAC, a decryption) but never the clocks or the schema:
  // only values that passed the transformers get in, so a client cannot fill it with its own.
  // Keyed by the value's last characters (a MAC, a tag, a signature): hashing a whole cookie value
  // for the map cost more than the rest of a hit. A hit still compares the whole value.
  // Weighed as heap bytes: the strings, plus ~320 for the entry's objects and string headers
  // (measured: 572 bytes of heap for a 250-character value and its 30-character payload).
  private readonly verified = new Recent<Verified>(4 * 1024 * 1024, (key, entry) => key.length + entry.raw.length + entry.text.length + 320)

  constructor (codec: Codec, clock: Clock, envelope: boolean, revocations: ClientSide['revocations'] = null) {
    this.codec = codec
    this.clock = clock
    this.envelope = envelope
    this.revocations = revocations
    this.prefix = envelopePrefix(codec.name)
    // Version 1 put the name and times in the first 16 bytes: readable (nobody logged out at the
    // upgrade) only where every transformer authenticates all of it.
    this.legacy = codec.transformers.some((t) => (t.malleablePrefix ?? 0) > 0) ? null : legacyPrefix(codec.name)
  }

  slot (): ClientSlot {
    return new ClientSlot(this)
  }

  /** Reads a client-side value through the whole pipeline, or says why it reads as absent. */
  read (raw: string, now: number): Loaded | InvalidReason | Promise<Loaded | InvalidReason> {
    const verified = this.verify(raw)
    if (typeof verified === 'string') return verified
    let stamp = verified.stamp
    if (stamp !== null) {
      stamp = this.clock.limit(stamp)
      if (this.clock.fromTheFuture(stamp, now)) return 'malformed'
      const ended = this.clock.ended(stamp, now, true)
      if (ended !== null) return ended
    }
    const value = this.codec.parse(verified.text)
    const failure = parseFailure(value)
    if (failure !== null) return failure
    const loaded = { value, text: verified.text, stamp, refresh: stamp !== null && this.clock.refreshDue(stamp.seen, now) }
    return this.revocations === null || stamp === null ? loaded : this.unlessRevoked(loaded, stamp.created, now)
  }

  // A value created before its subject's not-before time reads as absent (see revocations.ts).
  private unlessRevoked (loaded: Loaded, created: number, now: number): Loaded | InvalidReason | Promise<Loaded | InvalidReason> {
    const { subject, list } = this.revocations as NonNullable<ClientSide['revocations']>
    const who = subjectOf(subject, loaded.value)
    if (who === null) return loaded
    const notBefore = list.notBefore(who, now)
    if (typeof notBefore === 'number') return created < notBefore ? 'revoked' : loaded
    return notBefore.then((time) => created < time ? 'revoked' : loaded)
  }

  // The value past its transformers and envelope, from the cache when this process saw it before.
  private verify (raw: string): Verified | InvalidReason {
    const known = this.verified.get(verifiedKey(raw))
    if (known !== undefined && known.raw === raw) return known
    const inner = this.codec.unwrap(raw)
    if (inner === 'malformed' || inner === 'bad-signature') return inner
    // Kept for later requests: copies, not views of this request's Cookie header.
    const own = detach(raw)
    let verified: Verified
    if (this.envelope) {
      const opened = openEnvelope(this.prefix, this.legacy, inner)
      if (typeof opened === 'string') return opened
      verified = { raw: own, text: detach(opened.rest), stamp: opened.stamp }
    } else {
      // An enveloped provider's value, under a shared key: never a bare payload.
      if (looksLikeEnvelope(inner)) return 'wrong-provider'
      verified = { raw: own, text: detach(inner), stamp: null }
    }
    this.verified.set(verifiedKey(own), verified)
    return verified
  }

  /** The encoded client-side value for a payload; throws FST_SESSIONS_TOO_LARGE past what a cookie holds. */
  write (text: string, stamp: Stamp): string {
    if (!this.envelope && looksLikeEnvelope(text)) {
      throw new FST_SESSIONS_INVALID_PAYLOAD(this.codec.name, 'without the envelope, a serialized payload may not start as an envelope does (1:<name>: or ' + ENVELOPE_HEAD + ')')
    }
    const out = this.codec.wrap(this.envelope ? sealEnvelope(this.prefix, stamp, text) : text)
    this.codec.transport.checkSize(out)
    // The client sends this value back next: remembering it spares that request the verification.
    // The serializer's text may be a rope of many small pieces: kept flat, at its counted weight.
    const raw = this.codec.transport.sentBack?.(out) ?? out
    this.verified.set(verifiedKey(raw), { raw, text: detach(text), stamp: this.envelope ? stamp : null })
    return out
  }
}
