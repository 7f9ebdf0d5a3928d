import Type, { type Static, type TSchema } from 'typebox'
import type { SessionStorage } from '../storages/storage.js'
import type { SessionTransportTransformer } from '../transformers/transformer.js'
import type { SessionMigration } from './migrate/migration.js'
import { withDefault, type WithDefaults } from './options.js'
import type { SessionSerializer } from './serializer.js'

// The options of cookieSession() and headerSession(), as TypeBox schemas: one declaration gives
// the runtime check, the defaults and the static types below.

const method = Type.Function([], Type.Unknown())

const StorageSchema = Type.Unsafe<SessionStorage>(Type.Object({
  read: method,
  write: method,
  invalidate: method,
  touch: Type.Optional(method),
  compareAndWrite: Type.Optional(method),
  close: Type.Optional(method),
}))

const TransformerSchema = Type.Unsafe<SessionTransportTransformer>(Type.Object({
  transformRead: method,
  transformWrite: method,
  warnings: Type.Optional(Type.Array(Type.String())),
}))

const SerializerSchema = Type.Unsafe<SessionSerializer<unknown>>(Type.Object({
  serialize: method,
  deserialize: method,
}))

/** Whole seconds; `null` turns the clock off. A new schema each time: withDefault sets its default. */
function seconds (): ReturnType<typeof Type.Union<[ReturnType<typeof Type.Integer>, ReturnType<typeof Type.Null>]>> {
  return Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])
}

export const DEFAULT_MAX_AGE = 7 * 24 * 60 * 60

export const CookieOptionsSchema = Type.Object({
  /** Default `/`. */
  path: withDefault(Type.String(), '/'),
  domain: Type.Optional(Type.String()),
  /** Default `'auto'`: Secure when the request came over https (`true` for `__Secure-`/`__Host-` names). */
  secure: Type.Optional(Type.Union([Type.Boolean(), Type.Literal('auto')])),
  /** Default `true`. */
  httpOnly: withDefault(Type.Boolean(), true),
  /** Default `'lax'`; `false` omits the attribute. */
  sameSite: withDefault(Type.Union([Type.Literal('lax'), Type.Literal('strict'), Type.Literal('none'), Type.Literal(false)]), 'lax'),
  /** Seconds; defaults to the provider's `maxAge`; `null` makes a browser-session cookie. */
  maxAge: Type.Optional(seconds()),
  /** Ktor's cookie encodings; default `'uri'` (as Ktor 2.2+ writes it). */
  encoding: withDefault(Type.Union([Type.Literal('uri'), Type.Literal('base64'), Type.Literal('dquotes'), Type.Literal('raw')]), 'uri'),
  /** CHIPS: the cookie is kept per top-level site (`Partitioned`); needs `secure: true`. */
  partitioned: Type.Optional(Type.Boolean()),
  /** Chrome's `Priority` attribute: which cookies go last when a site has too many. */
  priority: Type.Optional(Type.Union([Type.Literal('low'), Type.Literal('medium'), Type.Literal('high')])),
  /** Extra attributes; an empty or null value renders a bare flag (`{ Partitioned: '' }`). */
  extensions: Type.Optional(Type.Record(Type.String(), Type.Union([Type.String(), Type.Null()]))),
  /** Client-side only: how many cookies (NAME, NAME.1, ...) a value too large for one may use, 1 to 10; default 1. */
  chunks: withDefault(Type.Number(), 1),
}, { additionalProperties: false })

export type CookieOptions = Static<typeof CookieOptionsSchema>

const CommonOptions = {
  /** Server-side when set: only an id travels, the payload stays in the storage. */
  storage: Type.Optional(StorageSchema),
  /** Default: `jsonSerializer(schema)`. */
  serializer: Type.Optional(SerializerSchema),
  /** Applied in order on write, in reverse on read. */
  transformers: withDefault(Type.Array(TransformerSchema), []),
  /** Server-side id generator; default 256 random bits, base64url. */
  identity: Type.Optional(Type.Unsafe<() => string>(Type.Function([], Type.String()))),
  /** The form of the ids `identity` makes; presented ids of another form are refused unread. */
  idPattern: Type.Optional(Type.Unsafe<RegExp>({})),
  /** Absolute lifetime in seconds from the first `set`; default 7 days; `null`: none (server-side, or without the envelope). */
  maxAge: withDefault(seconds(), DEFAULT_MAX_AGE),
  /**
   * The longest lifetime a session may have, enforced on every read (sessions issued before a
   * redeploy included); `set(p, value, { maxAge })` may ask up to it. Default: `maxAge`.
   */
  maxAgeLimit: Type.Optional(seconds()),
  /** Seconds without a request carrying the session after which it expires; default `null`. */
  idleTimeout: withDefault(seconds(), null),
  /**
   * Server-side: what happens when two requests change one session at once. `'last-write-wins'`
   * (default) keeps the later write; `'reject'` fails the later one with 409 FST_SESSIONS_CONFLICT
   * and needs a storage with `compareAndWrite`.
   */
  concurrency: withDefault(Type.Union([Type.Literal('last-write-wins'), Type.Literal('reject')]), 'last-write-wins'),
  /** Client-side only: wrap the payload with its times and provider name (default `true`). */
  envelope: withDefault(Type.Boolean(), true),
  /**
   * Other libraries' sessions to move into this provider on a request that has none of its own
   * (`fromSecureSession`, `fromConnectSession`). What `map` returns is checked against the schema
   * when the session is set; a payload that fails it is not migrated.
   */
  migrate: Type.Optional(Type.Array(Type.Unsafe<SessionMigration<unknown>>(Type.Object({ cookieName: Type.String(), read: method })))),
  /**
   * Whom a session belongs to (a user id), or null: server-side sessions are then indexed by it in
   * their storage (`list`, `revoke`, `revokeAll`, `sessionsOf`); client-side ones need `revocations`.
   */
  subject: Type.Optional(Type.Unsafe<(payload: never) => string | null>(Type.Function([], Type.Unknown()))),
  /** Server-side with `subject`: keep the user agent and/or ip with each session for `list` (personal data; default none). */
  metadata: Type.Optional(Type.Union([Type.Boolean(), Type.Object({
    userAgent: Type.Optional(Type.Boolean()),
    ip: Type.Optional(Type.Boolean()),
  }, { additionalProperties: false })])),
  /** Client-side with `subject`: where `revokeAll` records its not-before times. */
  revocations: Type.Optional(StorageSchema),
}

export const CookieSessionOptionsSchema = Type.Object({
  ...CommonOptions,
  cookie: Type.Optional(CookieOptionsSchema),
}, { additionalProperties: false })

export const HeaderSessionOptionsSchema = Type.Object(CommonOptions, { additionalProperties: false })

type Typed<O, T> = Omit<O, 'serializer' | 'subject'> & {
  serializer?: SessionSerializer<T>
  subject?: (payload: Readonly<T>) => string | null
}

export type CookieSessionOptions<T = unknown> = Typed<Static<typeof CookieSessionOptionsSchema>, T>
export type HeaderSessionOptions<T = unknown> = Typed<Static<typeof HeaderSessionOptionsSchema>, T>

/** What the factories work from: the options with their defaults filled in. */
export type ParsedSessionOptions<T = unknown> = Typed<WithDefaults<typeof CookieSessionOptionsSchema>, T>
export type ParsedCookieOptions = WithDefaults<typeof CookieOptionsSchema>

export type { TSchema }
