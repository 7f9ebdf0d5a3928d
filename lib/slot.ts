import type { FastifyRequest } from 'fastify'
import type { ClientSide } from './client-side.js'
import type { Stamp } from './envelope.js'
import type { ServerLoaded, ServerSide, Unusable } from './server-side.js'

// One provider's session within one request: what the container's state machine holds.
//
//   absent --load--> loaded --set/regenerate--> set --flush/save--> loaded
//      \________________\___________clear___________--> cleared --set--> set
//
// One mutable object per provider and request, made on first use: a transition changes fields
// in place instead of allocating a new object per state.

export type SlotState = 'absent' | 'loaded' | 'set' | 'cleared'

/**
 * Why a session that was sent reads as absent. `revoked`: a client-side value created before its
 * subject's not-before time (`revokeAll` with a `revocations` storage).
 */
export type InvalidReason = 'malformed' | 'bad-signature' | 'wrong-provider' | 'expired' | 'idle' | 'schema' | 'not-found' | 'revoked'

/** A session as a read found it. */
export interface Loaded {
  value: unknown
  /** The serialized payload of `value`. */
  text: string
  stamp: Stamp | null
  /** An idle refresh is due. */
  refresh: boolean
}

abstract class SlotBase {
  state: SlotState = 'absent'
  /** The client sent a value (valid or not): clearing then has something to expire. */
  incoming = false
  value: unknown = null
  text = ''
  /** Null only for a client-side session without the envelope, or for no session. */
  stamp: Stamp | null = null
  refresh = false
  /** A handler read the value the client sent: the response may be built from it. */
  read = false

  /** Takes what a read found. */
  load (loaded: Loaded): void {
    this.state = 'loaded'
    this.value = loaded.value
    this.text = loaded.text
    this.stamp = loaded.stamp
    this.refresh = loaded.refresh
  }

  /** set: the session's new payload (checked and serialized already) and times. */
  set (value: unknown, text: string, stamp: Stamp): void {
    this.state = 'set'
    this.value = value
    this.text = text
    this.stamp = stamp
  }

  clear (): void {
    this.state = 'cleared'
    this.value = null
    this.stamp = null
  }

  /** Whether there is a session (read or set) for `get`, `id` and `regenerate`. */
  get current (): boolean {
    return this.state === 'loaded' || this.state === 'set'
  }
}

export class ClientSlot extends SlotBase {
  readonly kind = 'client'
  readonly side: ClientSide
  /** The encoded value `set` or `regenerate` prepared, sent as is in onSend. */
  out = ''

  constructor (side: ClientSide) {
    super()
    this.side = side
  }

  /** Takes what a read found; returns why it reads as absent, or null. */
  take (read: Loaded | InvalidReason): InvalidReason | null {
    if (typeof read === 'string') return read
    this.load(read)
    return null
  }

  /** The value is encoded now: what cannot travel throws at `set`, not when the response goes out. */
  override set (value: unknown, text: string, stamp: Stamp): void {
    this.out = this.side.write(text, stamp)
    super.set(value, text, stamp)
  }

  /** The same payload issued again: a new creation time, the same expiry. */
  regenerate (now: number): void {
    const stamp = this.side.clock.reissued(this.stamp, now)
    this.out = this.side.write(this.text, stamp)
    this.stamp = stamp
    this.state = 'set'
  }
}

export class ServerSlot extends SlotBase {
  readonly kind = 'server'
  readonly side: ServerSide
  /** The id the client holds, once the storage vouched for it. */
  id: string | null = null
  /** Whom the stored session belongs to (providers with `subject`), to keep its index true. */
  subject: string | null = null
  /** The request, for the metadata a subject index keeps (user agent, ip). */
  request: FastifyRequest | null = null
  /** The key of `id`; also of an unusable record the client pointed at (without `id`), to delete it. */
  key: string | null = null
  version = 0
  /** The record as read or last written, for compare-and-set writes. */
  stored: string | null = null
  /** Keys to invalidate (regenerated or cleared ids). */
  stale: string[] | null = null
  /**
   * The key whose record `regenerate` moved to a new id. The move is written only if that record
   * is still the one read (`stored`): a logout meanwhile must not be undone.
   */
  origin: string | null = null

  constructor (side: ServerSide) {
    super()
    this.side = side
  }

  /**
   * Takes what a read found; returns why it reads as absent, or null. An unusable record keeps its
   * key (without the id), so that clear() or set() deletes it (a rollback must not revive it).
   */
  take (read: ServerLoaded | Unusable | InvalidReason): InvalidReason | null {
    if (typeof read === 'string') return read
    if (!('id' in read)) {
      this.key = read.key
      return read.reason
    }
    this.load(read)
    this.id = read.id
    this.key = read.key
    this.subject = read.subject
    this.version = read.version
    this.stored = read.stored
    return null
  }

  /** An unusable record the client pointed at (see ServerSide.fetch) is replaced, not left behind. */
  override set (value: unknown, text: string, stamp: Stamp): void {
    if (this.id === null && this.key !== null) this.retire()
    super.set(value, text, stamp)
  }

  override clear (): void {
    this.retire()
    this.origin = null
    super.clear()
  }

  /** The payload moves to a new id when written; the old record is retired then (see concurrency.ts). */
  regenerate (): void {
    if (this.key !== null) this.origin = this.key
    this.retire()
    this.state = 'set'
  }

  /** The current id is done with; its key is invalidated when the response goes out. */
  retire (): void {
    if (this.key !== null) (this.stale ??= []).push(this.key)
    this.id = null
    this.key = null
  }

  /** Back to no session, before a read from the storage again (reload). */
  forget (): void {
    this.state = 'absent'
    this.value = null
    this.stamp = null
    this.id = null
    this.key = null
    this.stored = null
    this.refresh = false
  }
}

export type Slot = ClientSlot | ServerSlot
