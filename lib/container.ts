import type { FastifyReply, FastifyRequest } from 'fastify'
import { FST_SESSIONS_ALREADY_SENT, FST_SESSIONS_UNKNOWN } from './errors.js'
import { collect, emit, readHeaders, saveNow, unsent } from './flush.js'
import type { Provider, SessionProvider } from './provider.js'
import { carriesOld } from './migrate/migration.js'
import { moveIn, retireAfter, type Moved } from './migrate/run.js'
import type { Registry } from './registry.js'
import type { InvalidReason, ServerSlot, Slot } from './slot.js'
import type { SessionListing } from './subjects.js'
import type { Outgoing } from './transport.js'
import { listOf, revokeAllOf, revokeOne, watchCurrent, type RevokeAllOptions } from './user-sessions.js'

type Payload<P> = P extends SessionProvider<infer T> ? T : unknown

/** Options of `request.sessions.set`. */
export interface SetOptions {
  /** This session's own absolute lifetime in seconds, from its creation; at most the provider's `maxAgeLimit`. */
  maxAge?: number
}

/** A provider, or its name. */
export type ProviderRef<T = unknown> = SessionProvider<T> | string

/** Internal entry points of the container, for the plugin's hooks only. */
export const kLoad = Symbol('fastify-sessions.load')
export const kFlush = Symbol('fastify-sessions.flush')
export const kMigrate = Symbol('fastify-sessions.migrate')

/**
 * `request.sessions`: the state of each provider for this request (a slot, see slot.ts), and the
 * methods handlers call. Reads happen in onRequest (kLoad), writes in onSend (kFlush); handlers
 * only change state. What a read or a write does is the provider's side's (client-side.ts,
 * server-side.ts); what to do on a concurrent write is concurrency.ts's.
 */
export class SessionContainer {
  readonly #registry: Registry
  readonly #request: FastifyRequest
  readonly #reply: FastifyReply
  readonly #slots: Array<Slot | undefined>
  #allowed: readonly boolean[] | null | undefined = undefined
  #dirty = false
  #committed = false
  /** A handler read a session the client sent (see the cache headers in onSend). */
  #read = false
  /** The writes of the first onSend: a second send (a handler's mistake) waits for the same ones. */
  #flushing: Promise<void> | undefined = undefined
  /** Set-Cookie lines of sessions that `save` already wrote, sent with the response. */
  #owed: Outgoing[] | undefined = undefined
  /** The providers among them whose client needs the line (a new id). */
  #owedNames: string[] | undefined = undefined
  /** A handler changed a session: the reply's end is watched for a change that was never sent. */
  #watching = false
  /** Sessions moved in from other libraries: old cookies to expire once the new ones are stored. */
  #moved: Moved[] | undefined = undefined

  constructor (registry: Registry, request: FastifyRequest, reply: FastifyReply) {
    this.#registry = registry
    this.#request = request
    this.#reply = reply
    this.#slots = new Array(registry.providers.length)
  }

  /** The payload, or null when absent, cleared, expired, tampered with or invalid. */
  get<P extends ProviderRef> (provider: P): Readonly<Payload<P>> | null {
    const slot = this.#slots[this.#index(provider)]
    if (slot === undefined) return null
    if (slot.state === 'loaded') {
      slot.read = true
      this.#read = true
    }
    return slot.value as Readonly<Payload<P>> | null
  }

  /**
   * Validates `value` against the schema now, and sends it when the response goes out. `maxAge`
   * (seconds, up to the provider's maxAgeLimit) gives this session its own absolute lifetime,
   * counted from its creation ("remember me").
   */
  set<P extends ProviderRef> (provider: P, value: Payload<P>, options?: SetOptions): void {
    const index = this.#index(provider)
    const p = this.#changeable(index)
    const slot = this.#slot(index)
    const text = p.codec.serialize(value)
    let stamp = p.clock.stamp(slot.current ? slot.stamp : null, Date.now())
    if (options?.maxAge !== undefined) stamp = p.clock.withLifetime(stamp, options.maxAge)
    slot.set(value, text, stamp)
    this.#changed()
  }

  /** Removes the session: the cookie is expired and, server-side, the stored entry invalidated. */
  clear (provider: ProviderRef): void {
    const index = this.#index(provider)
    this.#changeable(index)
    this.#slot(index).clear()
    this.#changed()
  }

  /** The current payload, or `make()` set and returned. */
  getOrSet<P extends ProviderRef> (provider: P, make: () => Payload<P>): Readonly<Payload<P>> {
    const current = this.get(provider)
    if (current !== null) return current
    const value = make()
    this.set(provider, value)
    return value as Readonly<Payload<P>>
  }

  /**
   * Server-side: the payload moves to a fresh id and the old one is invalidated, keeping the
   * absolute lifetime. Client-side: the value is re-issued. Nothing happens without a session.
   */
  regenerate (provider: ProviderRef): void {
    const index = this.#index(provider)
    this.#writable(index)
    const slot = this.#slots[index]
    if (slot === undefined || !slot.current) return
    slot.regenerate(Date.now())
    this.#changed()
  }

  /** The id a server-side session's client holds (null for none, or before a new id is written). */
  id (provider: ProviderRef): string | null {
    const slot = this.#slots[this.#index(provider)]
    return slot === undefined || slot.kind === 'client' || !slot.current ? null : slot.id
  }

  /**
   * Server-side: writes the session's change to its storage now, for WebSocket handlers and
   * hijacked replies, instead of when the response goes out. A session that needs a new cookie
   * (a new id, or one `regenerate` made) can be saved only while the response can still carry it:
   * afterwards FST_SESSIONS_ALREADY_SENT, and nothing is written. Client-side sessions travel only
   * in the response, so the same rule applies to them. Rejects like the response would otherwise
   * have failed: FST_SESSIONS_CONFLICT, FST_SESSIONS_STORAGE_UNAVAILABLE.
   */
  async save (provider: ProviderRef): Promise<void> {
    const index = this.#index(provider)
    const p = this.#registry.providers[index] as Provider
    const slot = this.#slots[index]
    if (slot === undefined) return
    const writable = this.#isWritable()
    if (slot.kind === 'client') {
      if (!writable && (slot.state === 'set' || (slot.state === 'cleared' && slot.incoming))) throw new FST_SESSIONS_ALREADY_SENT(p.name)
      return
    }
    const needsCookie = slot.state === 'set' && slot.id === null
    const owed = await saveNow(slot, writable, this.#request.log)
    if (owed === null || !writable) return
    (this.#owed ??= []).push(...owed)
    if (needsCookie) (this.#owedNames ??= []).push(`"${p.name}"`)
  }

  /**
   * Server-side: reads the session again from its storage and returns it, for a handler that is
   * about to act on it after a wait (a slow body, another service): a logout that happened since
   * onRequest then reads as `null`. A session this request already changed is returned as it is
   * (its write is conditional on the stored record anyway); client-side values have nothing to
   * re-read. Rejects with FST_SESSIONS_STORAGE_UNAVAILABLE when the storage fails.
   */
  async reload<P extends ProviderRef> (provider: P): Promise<Readonly<Payload<P>> | null> {
    const index = this.#index(provider)
    const slot = this.#slots[index]
    if (slot === undefined || slot.kind === 'client' || slot.state !== 'loaded' || slot.id === null || slot.key === null) return this.get(provider)
    const { id, key } = slot
    slot.forget()
    this.#took(index, slot, slot.take(await slot.side.fetch(id, key, Date.now(), this.#request.log)))
    return this.get(provider)
  }

  /** The sessions of this session's subject (providers with `subject`): see user-sessions.ts. */
  async list (provider: ProviderRef): Promise<SessionListing[]> {
    const index = this.#index(provider)
    return await listOf(this.#registry.providers[index] as Provider, this.#slots[index])
  }

  /** Ends the session of this session's subject that `handle` (from `list`) names; resolves whether one ended. */
  async revoke (provider: ProviderRef, handle: string): Promise<boolean> {
    const index = this.#index(provider)
    const ended = await revokeOne(this.#registry.providers[index] as Provider, this.#slots[index], handle)
    if (ended === 'current') this.#revoked(index, false, Date.now())
    return ended !== false
  }

  /** Ends every session of this session's subject; with `exceptCurrent`, all but this one. */
  async revokeAll (provider: ProviderRef, options?: RevokeAllOptions): Promise<void> {
    const index = this.#index(provider)
    const keep = options?.exceptCurrent === true
    const slot = this.#slots[index]
    // A client-side value kept is issued again, after the not-before time: the response must carry it.
    if (keep && slot?.kind === 'client' && slot.current) this.#writable(index)
    const now = Date.now()
    if (await revokeAllOf(this.#registry.providers[index] as Provider, slot, keep, now)) this.#revoked(index, keep, now)
  }

  /**
   * Server-side: calls `onEnded` once when this session ends by logout, regenerate or revocation,
   * here or (Redis, providers with `subject`) in another process; for WebSockets. Returns the
   * unsubscribe; a no-op without a stored session.
   */
  watch (provider: ProviderRef, onEnded: () => void): () => void {
    const index = this.#index(provider)
    return watchCurrent(this.#registry.providers[index] as Provider, this.#slots[index], onEnded)
  }

  // The current session after a revocation: ended with the others, or (client-side) issued anew.
  #revoked (index: number, keep: boolean, now: number): void {
    const slot = this.#slots[index]
    if (slot === undefined || !slot.current || !this.#isWritable() || (keep && slot.kind === 'server')) return
    if (keep) slot.regenerate(now)
    else slot.clear()
    this.#changed()
  }

  // The first change of a request: from now on a reply that ends without onSend (hijacked) is told of.
  #changed (): void {
    this.#dirty = true
    if (this.#watching) return
    this.#watching = true
    this.#reply.raw.once('close', () => this.#lost())
  }

  // The reply ended: changes that were neither sent nor saved are lost, and the log says so.
  #lost (): void {
    if (this.#committed || !this.#reply.sent) return
    const names = unsent(this.#registry.providers, this.#slots, this.#owedNames ?? [])
    if (names.length === 0) return
    this.#request.log.warn({ sessions: names }, `session ${names.join(', ')} changed, but the reply was hijacked before the response went out: the change is lost (a server-side session can be written first with await request.sessions.save(provider))`)
  }

  #index (provider: ProviderRef): number {
    const index = this.#registry.lookup.get(provider)
    if (index !== undefined) {
      this.#allowed ??= this.#registry.selection(this.#request)
      if (this.#allowed === null || this.#allowed[index] === true) return index
    }
    throw new FST_SESSIONS_UNKNOWN(typeof provider === 'string' ? provider : String(provider?.name))
  }

  /** Whether the response can still carry a session header. */
  #isWritable (): boolean {
    return !this.#committed && !this.#reply.sent
  }

  /** The provider at `index`, once sure the response can still carry its change. */
  #writable (index: number): Provider {
    const p = this.#registry.providers[index] as Provider
    if (!this.#isWritable()) throw new FST_SESSIONS_ALREADY_SENT(p.name)
    return p
  }

  /**
   * `#writable`, or, once the response has started (a WebSocket handler, a hijacked reply), a
   * server-side session whose id the client holds: its change reaches the storage through save().
   */
  #changeable (index: number): Provider {
    const slot = this.#slots[index]
    if (slot?.kind === 'server' && slot.id !== null) return this.#registry.providers[index] as Provider
    return this.#writable(index)
  }

  #slot (index: number): Slot {
    let slot = this.#slots[index]
    if (slot === undefined) {
      slot = (this.#registry.providers[index] as Provider).side.slot()
      if (slot.kind === 'server') slot.request = this.#request
      this.#slots[index] = slot
    }
    return slot
  }

  /**
   * onRequest: reads the value a client sent for provider `index`, unless the route does not load
   * it. Returns a promise only for server-side sessions; it rejects only when the storage fails.
   */
  [kLoad] (index: number, raw: string, now: number): Promise<void> | undefined {
    this.#allowed ??= this.#registry.selection(this.#request)
    if (this.#allowed !== null && this.#allowed[index] !== true) return undefined
    const slot = this.#slot(index)
    slot.incoming = true
    if (slot.kind === 'server') return this.#loadServer(index, slot, raw, now)
    const read = slot.side.read(raw, now)
    if (read instanceof Promise) return read.then((found) => { this.#took(index, slot, slot.take(found)) })
    this.#took(index, slot, slot.take(read))
    return undefined
  }

  /** onRequest, for a provider with `migrate` whose own session the request lacks. */
  [kMigrate] (index: number, cookieHeader: string | undefined, now: number): Promise<void> | undefined {
    if (cookieHeader === undefined) return undefined
    this.#allowed ??= this.#registry.selection(this.#request)
    if (this.#allowed !== null && this.#allowed[index] !== true) return undefined
    const p = this.#registry.providers[index] as Provider
    if (p.migrations === undefined || !carriesOld(p.migrations, cookieHeader)) return undefined
    return moveIn(p.migrations, cookieHeader, now, this.#request.log, (payload) => this.set(p, payload)).then((moved) => {
      if (moved !== null) (this.#moved ??= []).push(moved)
    })
  }

  async #loadServer (index: number, slot: ServerSlot, raw: string, now: number): Promise<void> {
    this.#took(index, slot, slot.take(await slot.side.read(raw, now, this.#request.log)))
  }

  #took (index: number, slot: Slot, reason: InvalidReason | null): void {
    if (reason !== null) this.#registry.invalid(reason, this.#request, this.#registry.providers[index] as Provider)
    else if (slot.refresh) this.#dirty = true
  }

  /**
   * onSend: writes what changed. Storage work runs in parallel and must all succeed before any
   * Set-Cookie or header is added, so a failed write answers 503 with no session header.
   */
  [kFlush] (): Promise<void> | undefined {
    this.#committed = true
    if (this.#flushing !== undefined) return this.#flushing
    const cacheControl = this.#registry.cacheControl
    if (this.#read) readHeaders(this.#reply, this.#slots, cacheControl)
    if (!this.#dirty) return undefined
    this.#dirty = false
    const now = Date.now()
    const lines: Outgoing[] = this.#owed ?? []
    let pending = collect(this.#slots, now, lines, this.#request.log)
    if (this.#moved !== undefined) pending = retireAfter(pending, this.#moved, this.#reply, this.#request.log)
    if (pending === undefined) {
      emit(this.#reply, this.#request, lines, now, cacheControl)
      return undefined
    }
    const stored = pending.length === 1 ? pending[0] as Promise<void> : Promise.all(pending)
    this.#flushing = stored.then(() => emit(this.#reply, this.#request, lines, now, cacheControl))
    return this.#flushing
  }
}
