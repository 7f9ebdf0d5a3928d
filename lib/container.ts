import type { FastifyReply, FastifyRequest } from 'fastify'
import { sessionRead, sessionWritten, type CacheMode } from './cache-headers.js'
import type { Stamp } from './envelope.js'
import {
  FST_SESSIONS_ALREADY_SENT, FST_SESSIONS_CONFLICT, FST_SESSIONS_OPTIONS, FST_SESSIONS_STORAGE_UNAVAILABLE, FST_SESSIONS_UNKNOWN,
} from './errors.js'
import type { InvalidReason, Provider, SessionProvider } from './provider.js'
import { formatRecord, parseRecord, RETIRED } from './record.js'
import type { CookieTransport } from './transport.js'

const ABSENT = 0
const LOADED = 1
const SET = 2
const CLEARED = 3

/** One provider's session within one request. */
class Slot {
  state = ABSENT
  /** The client sent a value (valid or not): clearing then has something to expire. */
  incoming = false
  value: unknown = null
  /** The serialized payload of `value`. */
  text = ''
  stamp: Stamp | null = null
  /** Server-side: the id the client holds, once the storage vouched for it. */
  id: string | null = null
  key: string | null = null
  version = 0
  /** Server-side: the record as read, for compare-and-set writes. */
  stored: string | null = null
  /** Client-side: the encoded value `set` prepared, sent as is in onSend. */
  out = ''
  /** An idle refresh is due. */
  refresh = false
  /** A handler read the value the client sent: the response may be built from it. */
  read = false
  /** Server-side: keys to invalidate (regenerated or cleared ids). */
  stale: string[] | null = null
  /**
   * Server-side: the key whose record `regenerate` moved to a new id. The move is written only if
   * that record is still the one read (`stored`): a logout meanwhile must not be undone.
   */
  origin: string | null = null
}

/** What the plugin shares with every request: providers, lookups, and reporting. */
export interface Registry {
  readonly providers: readonly Provider[]
  /** What responses that carry session data tell caches. */
  readonly cacheControl: CacheMode
  /** Provider objects and names to their index. */
  readonly lookup: ReadonlyMap<unknown, number>
  /** Which providers a route loads: null for all. */
  selection (request: FastifyRequest): readonly boolean[] | null
  invalid (reason: InvalidReason, request: FastifyRequest, provider: Provider): void
}

type Payload<P> = P extends SessionProvider<infer T> ? T : unknown

/** Options of `request.sessions.set`. */
export interface SetOptions {
  /** This session's own absolute lifetime in seconds, from its creation; at most the provider's `maxAgeLimit`. */
  maxAge?: number
}

/** One session header to send: the provider, its value (null: expire it) and its times. */
type Line = [Provider, string | null, Stamp | null]

/** A provider, or its name. */
export type ProviderRef<T = unknown> = SessionProvider<T> | string

/** Internal entry points of the container, for the plugin's hooks only. */
export const kLoad = Symbol('fastify-sessions.load')
export const kFlush = Symbol('fastify-sessions.flush')

/**
 * What may be logged of a storage's error: its name, code and message, never its other fields
 * (an ioredis error carries the command's arguments, which hold the record).
 */
export function describeStorageError (error: unknown): { name?: string, code?: unknown, message?: string } {
  if (!(error instanceof Error)) return { message: String(error) }
  return { name: error.name, code: (error as { code?: unknown }).code, message: error.message }
}

/**
 * `request.sessions`: the state of each provider for this request, and the methods handlers call.
 * Reads happen in onRequest (load*), writes in onSend (flush); handlers only change state.
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
  #owed: Line[] | undefined = undefined
  /** The providers among them whose client needs the line (a new id). */
  #owedNames: string[] | undefined = undefined
  /** A handler changed a session: the reply's end is watched for a change that was never sent. */
  #watching = false

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
    if (slot.state === LOADED) {
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
    const p = this.#open(index)
    const slot = this.#slot(index)
    const text = p.serialize(value)
    // An unusable record the client pointed at (see #fetch) is replaced, not left behind.
    if (slot.id === null && slot.key !== null) this.#retire(slot)
    const now = Date.now()
    const current = slot.state === LOADED || slot.state === SET ? slot.stamp : null
    let stamp = p.stamp(current, now)
    if (options?.maxAge !== undefined) stamp = { created: stamp.created, seen: stamp.seen, expires: p.lifetime(stamp.created, options.maxAge) }
    if (!p.serverSide) slot.out = p.seal(text, stamp)
    slot.state = SET
    slot.value = value
    slot.text = text
    slot.stamp = stamp
    this.#changed()
  }

  /** Removes the session: the cookie is expired and, server-side, the stored entry invalidated. */
  clear (provider: ProviderRef): void {
    const index = this.#index(provider)
    this.#open(index)
    const slot = this.#slot(index)
    this.#retire(slot)
    slot.origin = null
    slot.state = CLEARED
    slot.value = null
    slot.stamp = null
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
    const p = this.#open(index)
    const slot = this.#slots[index]
    if (slot === undefined || (slot.state !== LOADED && slot.state !== SET)) return
    const now = Date.now()
    if (p.serverSide) {
      if (slot.key !== null) slot.origin = slot.key
      this.#retire(slot)
    } else {
      const expires = slot.stamp === null ? (p.maxAge === null ? null : now + p.maxAge) : slot.stamp.expires
      const stamp = { created: now, seen: now, expires }
      slot.out = p.seal(slot.text, stamp)
      slot.stamp = stamp
    }
    slot.state = SET
    this.#changed()
  }

  /** The id a server-side session's client holds (null for none, or before a new id is written). */
  id (provider: ProviderRef): string | null {
    const slot = this.#slots[this.#index(provider)]
    return slot === undefined || (slot.state !== LOADED && slot.state !== SET) ? null : slot.id
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
    const open = !this.#committed && !this.#reply.sent
    if (!p.serverSide) {
      if (!open && (slot.state === SET || (slot.state === CLEARED && slot.incoming))) throw new FST_SESSIONS_ALREADY_SENT(p.name)
      return
    }
    if (slot.state === CLEARED) {
      // The id dies now; the cookie, if it can still be expired, is expired with the response.
      const keys = slot.stale
      slot.stale = null
      if (keys !== null) await this.#invalidate(p, keys)
      return
    }
    if (slot.state !== SET) return
    const needsCookie = slot.id === null
    if (needsCookie && !open) throw new FST_SESSIONS_ALREADY_SENT(p.name)
    const lines: Line[] = []
    await this.#store(p, slot, Date.now(), lines)
    slot.state = LOADED
    slot.refresh = false
    if (!open) return
    (this.#owed ??= []).push(...lines)
    if (needsCookie) (this.#owedNames ??= []).push(`"${p.name}"`)
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
    const names: string[] = []
    this.#slots.forEach((slot, index) => {
      if (slot === undefined) return
      const changed = slot.state === SET || (slot.state === CLEARED && (slot.incoming || slot.stale !== null))
      if (changed) names.push(`"${(this.#registry.providers[index] as Provider).name}"`)
    })
    for (const name of this.#owedNames ?? []) if (!names.includes(name)) names.push(name)
    if (names.length === 0) return
    this.#request.log.warn({ sessions: names }, `session ${names.join(', ')} changed, but the reply was hijacked before the response went out: the change is lost (a server-side session can be written first with await request.sessions.save(provider))`)
  }

  // Server-side: the current id is done with; its key is invalidated when the response goes out.
  #retire (slot: Slot): void {
    if (slot.key !== null) (slot.stale ??= []).push(slot.key)
    slot.id = null
    slot.key = null
  }

  #index (provider: ProviderRef): number {
    const index = this.#registry.lookup.get(provider)
    if (index !== undefined) {
      this.#allowed ??= this.#registry.selection(this.#request)
      if (this.#allowed === null || this.#allowed[index] === true) return index
    }
    throw new FST_SESSIONS_UNKNOWN(typeof provider === 'string' ? provider : String(provider?.name))
  }

  #open (index: number): Provider {
    const p = this.#registry.providers[index] as Provider
    if (this.#committed || this.#reply.sent) throw new FST_SESSIONS_ALREADY_SENT(p.name)
    return p
  }

  #slot (index: number): Slot {
    let slot = this.#slots[index]
    if (slot === undefined) {
      slot = new Slot()
      this.#slots[index] = slot
    }
    return slot
  }

  // The response says only that the storage failed; the log gets what the storage said.
  #unavailable (p: Provider, action: string, error: unknown): Error {
    this.#request.log.error({ session: p.name, storageError: describeStorageError(error) }, `session storage failed: could not be ${action}`)
    return new FST_SESSIONS_STORAGE_UNAVAILABLE(`session "${p.name}" could not be ${action}`)
  }

  /**
   * onRequest: reads the value a client sent for provider `index`, unless the route does not load
   * it. Returns a promise only for server-side sessions; it rejects only when the storage fails.
   */
  [kLoad] (index: number, raw: string, now: number): Promise<void> | undefined {
    this.#allowed ??= this.#registry.selection(this.#request)
    if (this.#allowed !== null && this.#allowed[index] !== true) return undefined
    if ((this.#registry.providers[index] as Provider).serverSide) return this.#loadServer(index, raw, now)
    this.#loadClient(index, raw, now)
    return undefined
  }

  #loadClient (index: number, raw: string, now: number): void {
    const p = this.#registry.providers[index] as Provider
    const slot = this.#slot(index)
    slot.incoming = true
    const opened = p.open(raw, now)
    if (typeof opened === 'string') return this.#registry.invalid(opened, this.#request, p)
    slot.state = LOADED
    slot.value = opened.value
    slot.text = opened.text
    slot.stamp = opened.stamp
    if (opened.stamp !== null && now - opened.stamp.seen >= p.refreshEvery) {
      slot.refresh = true
      this.#dirty = true
    }
  }

  async #loadServer (index: number, raw: string, now: number): Promise<void> {
    const p = this.#registry.providers[index] as Provider
    const slot = this.#slot(index)
    slot.incoming = true
    const id = p.unwrap(raw)
    if (id === 'malformed' || id === 'bad-signature') return this.#registry.invalid(id, this.#request, p)
    if (!p.idPattern.test(id)) return this.#registry.invalid('malformed', this.#request, p)
    return this.#fetch(p, slot, id, p.keyOf(id), now)
  }

  // Reads the record of `id` into `slot`; a record that is gone or unusable leaves it absent.
  async #fetch (p: Provider, slot: Slot, id: string, key: string, now: number): Promise<void> {
    const storage = p.storage as NonNullable<Provider['storage']>
    let text: string | null
    try {
      text = await storage.read(key)
    } catch (error) {
      throw this.#unavailable(p, 'read', error)
    }
    if (text === null || text === RETIRED) return this.#registry.invalid('not-found', this.#request, p)
    // A record exists from here on: even when it cannot be used (another schema, expired), its key
    // is kept without the id, so that clear() or set() deletes it (a rollback must not revive it).
    slot.key = key
    const record = parseRecord(text)
    if (record === null) return this.#registry.invalid('malformed', this.#request, p)
    const stamp = p.limit(record.stamp)
    if (stamp.expires !== null && now >= stamp.expires) return this.#registry.invalid('expired', this.#request, p)
    // With touch, idle expiry is the storage's (touch moves it without rewriting the record).
    if (storage.touch === undefined && p.idleTimeout !== null && now >= stamp.seen + p.idleTimeout) {
      return this.#registry.invalid('idle', this.#request, p)
    }
    const parsed = p.parse(record.payload)
    if (typeof parsed === 'string') return this.#registry.invalid(parsed, this.#request, p)
    slot.state = LOADED
    slot.value = parsed.value
    slot.text = record.payload
    slot.stamp = stamp
    slot.id = id
    slot.key = key
    slot.version = record.version
    slot.stored = text
    if (p.idleTimeout !== null && now - Math.max(stamp.seen, p.touched(key)) >= p.refreshEvery) {
      slot.refresh = true
      this.#dirty = true
    }
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
    const p = this.#registry.providers[index] as Provider
    const slot = this.#slots[index]
    if (!p.serverSide || slot === undefined || slot.state !== LOADED || slot.id === null || slot.key === null) return this.get(provider)
    const { id, key } = slot
    slot.state = ABSENT
    slot.value = null
    slot.stamp = null
    slot.id = null
    slot.key = null
    slot.stored = null
    slot.refresh = false
    await this.#fetch(p, slot, id, key, Date.now())
    return this.get(provider)
  }

  /**
   * onSend: writes what changed. Storage work runs in parallel and must all succeed before any
   * Set-Cookie or header is added, so a failed write answers 503 with no session header.
   */
  [kFlush] (): Promise<void> | undefined {
    this.#committed = true
    if (this.#flushing !== undefined) return this.#flushing
    if (this.#read) this.#readHeaders()
    if (!this.#dirty) return undefined
    this.#dirty = false
    const now = Date.now()
    const lines: Line[] = this.#owed ?? []
    let pending: Array<Promise<void>> | undefined
    for (let i = 0; i < this.#slots.length; i++) {
      const slot = this.#slots[i]
      if (slot === undefined) continue
      const p = this.#registry.providers[i] as Provider
      if (slot.state === SET) {
        if (p.serverSide) (pending ??= []).push(this.#store(p, slot, now, lines))
        else lines.push([p, slot.out, slot.stamp])
      } else if (slot.state === CLEARED) {
        if (slot.stale !== null) (pending ??= []).push(this.#invalidate(p, slot.stale))
        if (slot.incoming) lines.push([p, null, null])
      } else if (slot.state === LOADED && slot.refresh) {
        if (p.serverSide) (pending ??= []).push(this.#refresh(p, slot, now))
        else this.#reissue(p, slot, now, lines)
      }
    }
    if (pending === undefined) {
      this.#emit(lines, now)
      return undefined
    }
    const stored = pending.length === 1 ? pending[0] as Promise<void> : Promise.all(pending)
    this.#flushing = stored.then(() => this.#emit(lines, now))
    return this.#flushing
  }

  async #store (p: Provider, slot: Slot, now: number, lines: Line[]): Promise<void> {
    const storage = p.storage as NonNullable<Provider['storage']>
    let id = slot.id
    let key = slot.key
    if (id === null || key === null) {
      id = p.identity()
      if (!p.idPattern.test(id)) throw new FST_SESSIONS_OPTIONS(`identity() of "${p.name}" made an id that its idPattern refuses`)
      key = p.keyOf(id)
    }
    const stamp = slot.stamp as Stamp
    const record = formatRecord({ stamp: { created: stamp.created, seen: now, expires: stamp.expires }, version: slot.version + 1, payload: slot.text })
    const expiresAt = p.storageExpiry(stamp, now)
    let written: boolean
    try {
      if (slot.origin !== null && !await this.#retireOrigin(p, slot.origin, slot.stored, now)) throw new FST_SESSIONS_CONFLICT(p.name)
      const writing = slot.id === null ? this.#create(storage, key, record, expiresAt) : this.#update(p, key, slot.stored, record, expiresAt)
      if (slot.stale === null) {
        written = await writing
      } else {
        const [ok] = await Promise.all([writing, ...slot.stale.map((k) => storage.invalidate(k))])
        written = ok
      }
    } catch (error) {
      if (error instanceof FST_SESSIONS_CONFLICT) throw error
      throw this.#unavailable(p, 'written', error)
    }
    if (!written) throw new FST_SESSIONS_CONFLICT(p.name)
    lines.push([p, p.wrap(id), stamp])
    // What the storage now holds, for a later write of this request (after save()).
    slot.id = id
    slot.key = key
    slot.stored = record
    slot.version++
    slot.stale = null
    slot.origin = null
  }

  async #create (storage: NonNullable<Provider['storage']>, key: string, record: string, expiresAt: number | null): Promise<boolean> {
    await storage.write(key, record, expiresAt)
    return true
  }

  /**
   * Regenerate, before the new id is written: the old key's record, if it is still the one this
   * request read, becomes RETIRED in one compare-and-set, so a logout (or, with `concurrency:
   * 'reject'`, any change) that happened meanwhile makes the move a conflict instead of copying
   * an ended session to a new id. With last-write-wins a change meanwhile is overwritten, as a
   * plain `set` would. Without compareAndWrite there is nothing to condition on: the move is
   * written, as before.
   */
  async #retireOrigin (p: Provider, key: string, expected: string | null, now: number): Promise<boolean> {
    const storage = p.storage as NonNullable<Provider['storage']>
    if (storage.compareAndWrite === undefined) return true
    // The tombstone lives only until the invalidation that follows; this bounds it if that fails.
    const expiresAt = now + 60_000
    if (await storage.compareAndWrite(key, expected, RETIRED, expiresAt)) return true
    if (p.rejectConflicts) return false
    for (let attempt = 0; attempt < 4; attempt++) {
      const current = await storage.read(key)
      if (current === null || current === RETIRED) return false
      if (await storage.compareAndWrite(key, current, RETIRED, expiresAt)) return true
    }
    return false
  }

  /**
   * Writes a session read in this request back under its id. With compareAndWrite the write
   * never lands on a session that another request ended meanwhile (logout, regenerate): that is
   * a conflict in every mode, or a slow request could bring a logged-out session back. A change
   * made meanwhile is a conflict with `concurrency: 'reject'`, and overwritten otherwise.
   * Without compareAndWrite, a plain write: last write wins, ended sessions included.
   */
  async #update (p: Provider, key: string, expected: string | null, record: string, expiresAt: number | null): Promise<boolean> {
    const storage = p.storage as NonNullable<Provider['storage']>
    if (storage.compareAndWrite === undefined) {
      await storage.write(key, record, expiresAt)
      return true
    }
    if (await storage.compareAndWrite(key, expected, record, expiresAt)) return true
    if (p.rejectConflicts) return false
    // Last write wins over any change but the end of the session. Each failed round means another
    // request wrote; after a few, under heavy contention, the write goes through unguarded.
    for (let attempt = 0; attempt < 4; attempt++) {
      const current = await storage.read(key)
      if (current === null || current === RETIRED) return false
      if (await storage.compareAndWrite(key, current, record, expiresAt)) return true
    }
    await storage.write(key, record, expiresAt)
    return true
  }

  async #invalidate (p: Provider, keys: string[]): Promise<void> {
    const storage = p.storage as NonNullable<Provider['storage']>
    try {
      await Promise.all(keys.map((key) => storage.invalidate(key)))
    } catch (error) {
      throw this.#unavailable(p, 'invalidated', error)
    }
  }

  // An idle refresh moves the storage's expiry; a failure costs the refresh, not the request.
  async #refresh (p: Provider, slot: Slot, now: number): Promise<void> {
    const storage = p.storage as NonNullable<Provider['storage']>
    const stamp = slot.stamp as Stamp
    const key = slot.key as string
    const expiresAt = p.storageExpiry(stamp, now)
    try {
      if (storage.touch !== undefined) {
        await storage.touch(key, expiresAt)
      } else {
        // A rewrite of the record as read: compare-and-set where possible, so a refresh never
        // overwrites a change another request made meanwhile.
        const record = formatRecord({ stamp: { created: stamp.created, seen: now, expires: stamp.expires }, version: slot.version, payload: slot.text })
        if (storage.compareAndWrite !== undefined) await storage.compareAndWrite(key, slot.stored, record, expiresAt)
        else await storage.write(key, record, expiresAt)
      }
      p.markTouched(key, now)
    } catch (error) {
      this.#request.log.warn({ session: p.name, storageError: describeStorageError(error) }, 'session idle refresh failed')
    }
  }

  #reissue (p: Provider, slot: Slot, now: number, lines: Line[]): void {
    const old = slot.stamp as Stamp
    const stamp = { created: old.created, seen: now, expires: old.expires }
    try {
      lines.push([p, p.seal(slot.text, stamp), stamp])
    } catch (error) {
      this.#request.log.warn({ session: p.name, err: error }, 'session idle refresh failed')
    }
  }

  #emit (lines: Line[], now: number): void {
    if (lines.length === 0) return
    const reply = this.#reply
    const vary: string[] = []
    for (const [p, value, stamp] of lines) {
      const carrier = p.carrier
      if (carrier.kind === 'cookie') {
        const secure = carrier.secureFor(this.#request)
        reply.header('set-cookie', value === null
          ? carrier.clearLine(secure)
          : (carrier as CookieTransport).line(value, p.cookieAge(stamp, now), now, secure))
      } else {
        reply.header(carrier.name, value ?? '')
      }
      if (!vary.includes(carrier.vary)) vary.push(carrier.vary)
    }
    sessionWritten(reply, vary, this.#registry.cacheControl)
  }

  // The handler read sessions the client sent: the response may be personal (see cache-headers.ts).
  #readHeaders (): void {
    const vary: string[] = []
    for (let i = 0; i < this.#slots.length; i++) {
      const slot = this.#slots[i]
      if (slot === undefined || !slot.read) continue
      const name = (this.#registry.providers[i] as Provider).carrier.vary
      if (!vary.includes(name)) vary.push(name)
    }
    sessionRead(this.#reply, vary, this.#registry.cacheControl)
  }
}
