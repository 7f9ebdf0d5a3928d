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

/** Why a session that was sent reads as absent. */
export type InvalidReason = 'malformed' | 'bad-signature' | 'wrong-provider' | 'expired' | 'idle' | 'schema' | 'not-found'

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
}

export class ServerSlot extends SlotBase {
  readonly kind = 'server'
  readonly side: ServerSide
  /** The id the client holds, once the storage vouched for it. */
  id: string | null = null
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
    this.version = read.version
    this.stored = read.stored
    return null
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
