import type { Static, TSchema } from 'typebox'
import { hasSubjects, type SessionStorage } from '../storages/storage.js'
import type { SessionTransportTransformer } from '../transformers/transformer.js'
import { cookieTransport } from './chunked-transport.js'
import { ClientSide } from './client-side.js'
import { Clock } from './clock.js'
import { Codec } from './codec.js'
import type { Stamp } from './envelope.js'
import { FST_SESSIONS_OPTIONS } from './errors.js'
import { DEFAULT_ID_PATTERN, defaultIdentity } from './identity.js'
import { checkCommon, checkEncoding, checkHeaderName, checkLifetimes, checkName, checkSchema, cookieAttributes } from './option-checks.js'
import type { SessionMigration } from './migrate/migration.js'
import { checkMigrations } from './migrate/run.js'
import { parseOptionsWithDefaults } from './options.js'
import {
  CookieOptionsSchema, CookieSessionOptionsSchema, HeaderSessionOptionsSchema,
  type CookieSessionOptions, type HeaderSessionOptions, type ParsedSessionOptions,
} from './provider-options.js'
import { jsonSerializer, type SessionSerializer } from './serializer.js'
import { ServerSide } from './server-side.js'
import { Revocations } from './revocations.js'
import { SubjectIndex, type SessionListing, type SessionMetadata } from './subjects.js'
import { HeaderTransport, type Transport } from './transport.js'
import { revokeSubject, sessionsOf } from './user-sessions.js'

export type { InvalidReason } from './slot.js'

declare const payload: unique symbol

/** A named session: its payload schema, its transport, and where the payload lives. */
export interface SessionProvider<T = unknown> {
  readonly name: string
  readonly schema: TSchema
  readonly transport: 'cookie' | 'header'
  /** True when a storage keeps the payload and only an id travels. */
  readonly serverSide: boolean
  /** Carries the payload type for inference; never set at run time. */
  readonly [payload]?: T
  /** Every live session of `subject` (server-side providers with `subject`), for admin pages. */
  sessionsOf (subject: string): Promise<SessionListing[]>
  /** Ends every session of `subject` ("log out everywhere": after a password change, say). */
  revokeAll (subject: string): Promise<void>
}

/** The payload type of a provider. */
export type SessionPayload<P> = P extends SessionProvider<infer T> ? T : never

/**
 * A provider with its read and write pipelines composed once, when it is made: the per-request
 * path is a fixed sequence of plain calls with a compiled schema check. `side` is where the
 * payload lives (client-side or server-side); `codec` holds the transport and the transformers.
 */
export class Provider<T = unknown> implements SessionProvider<T> {
  readonly name: string
  readonly schema: TSchema
  readonly serverSide: boolean
  readonly codec: Codec<T>
  readonly clock: Clock
  readonly side: ClientSide | ServerSide
  /** Other libraries' sessions this provider takes over (the `migrate` option). */
  readonly migrations: ReadonlyArray<SessionMigration<unknown>> | undefined
  /** The `subject` option, or null. */
  readonly subject: ((payload: never) => unknown) | null
  readonly metadata: SessionMetadata

  constructor (name: string, schema: TSchema, transport: Transport, options: ParsedSessionOptions<T>) {
    this.name = name
    this.schema = schema
    const serializer = options.serializer ?? jsonSerializer(schema) as SessionSerializer<T>
    this.codec = new Codec<T>(transport, schema, serializer, [...options.transformers])
    this.clock = new Clock(name, options)
    this.serverSide = options.storage !== undefined
    this.subject = (options.subject as ((payload: never) => unknown) | undefined) ?? null
    this.metadata = options.metadata ?? false
    this.side = makeSide(this.codec, this.clock, options)
    checkMigrations(options.migrate, name, transport.kind === 'cookie', `session "${name}"`)
    this.migrations = options.migrate === undefined || options.migrate.length === 0 ? undefined : [...options.migrate]
  }

  sessionsOf (subject: string): Promise<SessionListing[]> {
    return sessionsOf(this, subject)
  }

  revokeAll (subject: string): Promise<void> {
    return revokeSubject(this, subject, null, Date.now())
  }

  get transport (): 'cookie' | 'header' {
    return this.codec.transport.kind
  }

  get storage (): SessionStorage | undefined {
    return this.side.kind === 'server' ? this.side.storage : undefined
  }

  get transformers (): readonly SessionTransportTransformer[] {
    return this.codec.transformers
  }

  /** Checks a value handed to `set` and returns its serialized text. */
  serialize (value: unknown): string {
    return this.codec.serialize(value)
  }

  /** Times for a session set at `now`. */
  stamp (current: Stamp | null, now: number): Stamp {
    return this.clock.stamp(current, now)
  }

  /** A client-side provider's transport value for a payload (what `set` sends). */
  seal (text: string, stamp: Stamp): string {
    if (this.side.kind === 'server') throw new TypeError(`"${this.name}" is server-side: only an id travels`)
    return this.side.write(text, stamp)
  }
}

/** Where the payload lives, with what `subject` needs on each side. */
function makeSide<T> (codec: Codec<T>, clock: Clock, options: ParsedSessionOptions<T>): ClientSide | ServerSide {
  const subject = options.subject as ((payload: never) => unknown) | undefined
  const storage = options.storage
  if (storage === undefined) {
    // Without `subject`, nobody's values are revoked (and registration refuses the provider).
    const revocations = options.revocations === undefined
      ? null
      : { subject: subject ?? (() => null), list: new Revocations(options.revocations, codec.name, clock) }
    return new ClientSide(codec, clock, options.envelope, revocations)
  }
  // A storage without the subject index leaves `subjects` null; registration refuses that provider.
  return new ServerSide(codec, clock, {
    storage,
    identity: options.identity ?? defaultIdentity,
    idPattern: options.idPattern ?? DEFAULT_ID_PATTERN,
    rejectConflicts: options.concurrency === 'reject',
    subjects: subject !== undefined && hasSubjects(storage) ? new SubjectIndex(storage, codec, clock, subject, options.metadata ?? false) : null,
  })
}

/**
 * A session carried by a cookie. With `storage` it is server-side (the cookie holds an id);
 * without, the serialized payload travels in the cookie through the transformers.
 */
export function cookieSession<S extends TSchema> (name: string, schema: S, options?: CookieSessionOptions<Static<S>>): SessionProvider<Static<S>> {
  const label = `cookieSession(${JSON.stringify(String(name))})`
  checkName(name, label)
  // Typed by the caller's serializer, which no schema can say.
  const opts = parseOptionsWithDefaults(CookieSessionOptionsSchema, options, label) as ParsedSessionOptions<Static<S>>
  checkCommon(opts, label)
  checkLifetimes(opts, label)
  const cookie = parseOptionsWithDefaults(CookieOptionsSchema, opts.cookie, label)
  // The caller's serializer: options are copied, and the check asks whether jsonSerializer made it.
  checkEncoding({ ...opts, serializer: options?.serializer }, checkSchema(schema, label), label)
  const transport = cookieTransport(name, cookieAttributes(name, cookie, opts.maxAge, label), cookie.chunks, opts.storage !== undefined, label)
  return new Provider<Static<S>>(name, checkSchema(schema, label), transport, opts)
}

/**
 * A session carried by a request and response header, for clients that are not browsers. With
 * `storage` the header holds an id; without, the payload itself.
 */
export function headerSession<S extends TSchema> (name: string, schema: S, options?: HeaderSessionOptions<Static<S>>): SessionProvider<Static<S>> {
  const label = `headerSession(${JSON.stringify(String(name))})`
  checkName(name, label)
  checkHeaderName(name, label)
  const opts = parseOptionsWithDefaults(HeaderSessionOptionsSchema, options, label) as ParsedSessionOptions<Static<S>>
  checkCommon(opts, label)
  checkLifetimes(opts, label)
  return new Provider<Static<S>>(name, checkSchema(schema, label), new HeaderTransport(name), opts)
}

/** The provider behind a public handle, or an options error for objects our factories did not make. */
export function providerOf (value: unknown): Provider {
  if (value instanceof Provider) return value
  throw new FST_SESSIONS_OPTIONS('providers must be made by cookieSession() or headerSession()')
}
