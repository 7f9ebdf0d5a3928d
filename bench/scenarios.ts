// The benchmark's scenarios: one Fastify app each, built in its own server process (server.ts).
//
// Every app answers two routes: GET /prime sets a fresh session ({ username, count: 0 }) and is
// called once before loading, to obtain a valid session cookie; GET / is what the load hits with
// that cookie: a counter reads the session and writes it back with count + 1, a read only reads it,
// a route answers about 2 KB of JSON to a logged-in session (401 without one).
//
// A scenario is one entry of `scenarios` below. Its `goals` say what it is compared to (a peer, a
// floor, itself at another size): run.ts builds the target table from them, so a new scenario with
// a target needs no change there.
//
// The peer plugins are loaded with dynamic imports of non-literal specifiers: @fastify/session and
// @fastify/secure-session both augment FastifyRequest with a `session` of different types, and
// importing both for their types would not compile in one program.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import Type from 'typebox'
import sessions, { cookieSession, hex, messageAuthentication, type SessionStorage, type SessionTransportTransformer } from '../lib/index.js'
import { defaultIdentity, storageKey } from '../lib/identity.js'
import { formatRecord } from '../lib/record.js'

export type Kind = 'counter' | 'read' | 'none' | 'route'

/**
 * A target, in added cost (server CPU µs per request beyond the scenario's base in the same round):
 * `against`: the other scenario's added cost over ours must reach `atLeast` (several: the fastest
 * of them); `bareShare`: our added cost must stay within that share of the base's whole cost.
 */
export type Goal =
  | { label: string, against: string | readonly string[], atLeast: number }
  | { label: string, bareShare: number }

export interface Environment {
  /** The port of the redis-server the bench started, when there is one. */
  redisPort?: number | undefined
  /** A directory the scenario may write into. */
  tmpdir: string
}

export interface Scenario {
  id: string
  label: string
  kind: Kind
  /** Our plugin sends Set-Cookie only on writes; the peers' habits differ, so only ours are checked. */
  ours: boolean
  /** Needs the redis-server the bench starts. */
  redis?: boolean
  /**
   * Cold cookies: every cookie is minted by another process of the same scenario (so this server
   * never saw it) and used once; each round carries exactly as many requests as it has cookies.
   */
  cold?: boolean
  /** The scenario whose cost the added cost is counted beyond (default 'bare'). */
  base?: string
  /** Targets this scenario is held to (see Goal). */
  goals?: readonly Goal[]
  /** The Set-Cookie lines a write of ours sends (default 1; a chunked session sends one per chunk). */
  cookies?: number
  build (env: Environment): Promise<FastifyInstance>
}

const Payload = Type.Object({ username: Type.String(), count: Type.Integer() })
interface Data { username: string, count: number }

// Fixed keys: this is a benchmark, not a deployment.
const KEY = hex('8f1d3c5b7a9e0f2d4c6b8a0e1f3d5c7b9a8e6f4d2c0b1a3e5f7d9c8b6a4e2f01')
const SECRET = 'a fixed secret of at least thirty-two characters, bench only'

const FRESH: Data = { username: 'bench', count: 0 }
// A session that needs three cookies (cookie.chunks): 9000 characters that no encoding expands.
const LARGE: Data = { username: 'bench-' + 'x'.repeat(9000), count: 0 }

// The real route's answer: about 2 KB of JSON, built per request as a handler would.
const ITEMS = Array.from({ length: 20 }, (_, i) => ({ id: i + 1, title: `Order ${i + 1} of the bench account`, total: 1999 + i * 37, currency: 'EUR', shipped: i % 3 === 0 }))

function page (count: number): { count: number, items: typeof ITEMS } {
  return { count, items: ITEMS.map((item) => ({ ...item })) }
}

async function optional<T> (specifiers: readonly string[], name: string): Promise<T | undefined> {
  for (const specifier of specifiers) {
    try {
      const mod = await import(specifier) as Record<string, unknown>
      if (mod[name] !== undefined) return mod[name] as T
    } catch (error) {
      if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error
    }
  }
  return undefined
}

// Names other engineers are still writing: from the package root once exported, else from their file.
type TransformerFactory = (options: { key: Uint8Array }) => SessionTransportTransformer
type StorageFactory = (...args: any[]) => SessionStorage

export async function loadEncrypt (): Promise<TransformerFactory | undefined> {
  return optional<TransformerFactory>(['../lib/index.js', '../transformers/encrypt.js'], 'encrypt')
}

export async function loadStorage (file: string, name: string): Promise<StorageFactory | undefined> {
  return optional<StorageFactory>(['../lib/index.js', `../storages/${file}.js`], name)
}

function app (): FastifyInstance {
  return Fastify({ logger: false })
}

type Options = Parameters<typeof cookieSession<typeof Payload>>[2]

// An app with our plugin and one cookie provider named S, primed with `fresh`.
async function ours (kind: Kind, options: Options, fresh: Data = FRESH): Promise<FastifyInstance> {
  const fastify = app()
  const provider = cookieSession('S', Payload, options)
  await fastify.register(sessions, { providers: [provider] })
  fastify.get('/prime', async (request) => {
    request.sessions.set(provider, fresh)
    return { count: 0 }
  })
  if (kind === 'counter') {
    fastify.get('/', async (request) => {
      const current = request.sessions.get(provider)
      const count = (current?.count ?? 0) + 1
      request.sessions.set(provider, { username: current?.username ?? 'bench', count })
      return { count }
    })
  } else if (kind === 'read') {
    fastify.get('/', async (request) => {
      return { count: request.sessions.get(provider)?.count ?? null }
    })
  } else if (kind === 'route') {
    fastify.get('/', async (request, reply) => {
      const session = request.sessions.get(provider)
      return session === undefined || session === null ? reply.code(401).send({ count: null }) : page(session.count)
    })
  } else {
    fastify.get('/', async () => ({ count: 0 }))
  }
  return fastify
}

interface PeerSession {
  get (key: string): unknown
  set (key: string, value: unknown): void
}

function peerSession (request: FastifyRequest): PeerSession {
  return (request as unknown as { session: PeerSession }).session
}

// The same routes over a peer plugin's `request.session`, keeping the payload under one key.
function peerRoutes (fastify: FastifyInstance, kind: Kind): void {
  fastify.get('/prime', async (request) => {
    peerSession(request).set('data', FRESH)
    return { count: 0 }
  })
  if (kind === 'route') {
    fastify.get('/', async (request, reply) => {
      const data = peerSession(request).get('data') as Data | undefined
      return data === undefined ? reply.code(401).send({ count: null }) : page(data.count)
    })
    return
  }
  fastify.get('/', kind === 'counter'
    ? async (request: FastifyRequest) => {
      const session = peerSession(request)
      const current = session.get('data') as Data | undefined
      const count = (current?.count ?? 0) + 1
      session.set('data', { username: current?.username ?? 'bench', count })
      return { count }
    }
    : async (request: FastifyRequest) => ({ count: (peerSession(request).get('data') as Data | undefined)?.count ?? null }))
}

// A specifier TypeScript does not resolve (see the top of the file).
async function peer (name: string): Promise<any> {
  const mod = await import(name)
  return mod.default ?? mod
}

async function fastifySession (kind: Kind, store?: unknown): Promise<FastifyInstance> {
  const fastify = app()
  await fastify.register(await peer('@fastify/cookie'))
  await fastify.register(await peer('@fastify/session'), {
    secret: SECRET,
    saveUninitialized: false,
    cookie: { secure: false, path: '/', httpOnly: true, sameSite: 'lax', maxAge: 7 * 24 * 3600 * 1000 },
    ...(store === undefined ? {} : { store }),
  })
  peerRoutes(fastify, kind)
  return fastify
}

async function secureSession (kind: Kind): Promise<FastifyInstance> {
  const fastify = app()
  await fastify.register(await peer('@fastify/secure-session'), {
    key: KEY,
    cookieName: 'S',
    cookie: { path: '/', httpOnly: true, sameSite: 'lax' },
  })
  peerRoutes(fastify, kind)
  return fastify
}

// A cookie's raw value, found the plain way a hand-written app would.
function cookieValue (header: string | undefined, name: string): string | null {
  const start = header === undefined ? -1 : header.indexOf(name + '=')
  if (header === undefined || start < 0) return null
  const end = header.indexOf(';', start)
  return header.slice(start + name.length + 1, end < 0 ? undefined : end)
}

// The bench's two routes over a session kept by hand: `read` gives the session or null, `write`
// keeps one and sets its cookie.
function handwrittenRoutes (
  fastify: FastifyInstance,
  read: (request: FastifyRequest) => Data | null | Promise<Data | null>,
  write: (request: FastifyRequest, reply: FastifyReply, data: Data) => void | Promise<void>,
  kind: Kind = 'counter'
): FastifyInstance {
  fastify.get('/prime', async (request, reply) => {
    await write(request, reply, FRESH)
    return { count: 0 }
  })
  if (kind === 'read') {
    fastify.get('/', async (request) => ({ count: (await read(request))?.count ?? null }))
    return fastify
  }
  fastify.get('/', async (request, reply) => {
    const current = await read(request)
    const count = (current?.count ?? 0) + 1
    await write(request, reply, { username: current?.username ?? 'bench', count })
    return { count }
  })
  return fastify
}

// The floor: a signed cookie counter written by hand with no plugin (parse the Cookie
// header, check an HMAC, JSON, sign, one Set-Cookie). No expiry, no schema, no cache headers, no
// key rotation: what every session library adds to, shown in each run for scale.
function handwritten (kind: Kind = 'counter'): FastifyInstance {
  const mac = (value: string): Buffer => createHmac('sha256', KEY).update(value).digest()
  return handwrittenRoutes(app(), (request) => {
    const sent = cookieValue(request.headers.cookie, 'H')
    if (sent === null) return null
    const raw = decodeURIComponent(sent)
    const dot = raw.lastIndexOf('.')
    const given = Buffer.from(raw.slice(dot + 1), 'base64url')
    const expected = mac(raw.slice(0, dot))
    if (dot < 0 || given.length !== expected.length || !timingSafeEqual(given, expected)) return null
    return JSON.parse(raw.slice(0, dot)) as Data
  }, (_request, reply, data) => {
    const value = JSON.stringify(data)
    reply.header('set-cookie', 'H=' + encodeURIComponent(value + '.' + mac(value).toString('base64url')) + '; Path=/; HttpOnly; SameSite=Lax')
  }, kind)
}

// The same floor over Redis: the cookie holds an id, GET and SET through ioredis, no plugin, no
// compare-and-set, no timeouts, no record around the payload.
async function handwrittenRedis (env: Environment): Promise<FastifyInstance> {
  const { Redis } = await import('ioredis')
  const client = new Redis({ host: '127.0.0.1', port: redisPortOf(env) })
  const fastify = app()
  closeWith(fastify, () => client.quit())
  return handwrittenRoutes(fastify, async (request) => {
    const id = cookieValue(request.headers.cookie, 'R')
    const text = id === null ? null : await client.get('hw:' + id)
    return text === null ? null : JSON.parse(text) as Data
  }, async (request, reply, data) => {
    const id = cookieValue(request.headers.cookie, 'R') ?? randomBytes(32).toString('base64url')
    await client.set('hw:' + id, JSON.stringify(data), 'PX', 86_400_000)
    reply.header('set-cookie', 'R=' + id + '; Path=/; HttpOnly; SameSite=Lax')
  })
}

// Our plugin over the bench's redis-server, each scenario under its own key prefix (and, for the
// growth scenarios, in its own database, so their keys do not weigh on the others).
async function oursOnRedis (kind: Kind, env: Environment, db = 0): Promise<FastifyInstance> {
  const redisStorage = await loadStorage('redis', 'redisStorage')
  if (redisStorage === undefined) throw new Unavailable('storages/redis.ts is not there yet')
  return ours(kind, { storage: redisStorage({ url: `redis://127.0.0.1:${redisPortOf(env)}/${db}`, prefix: `ours-${kind}:` }) })
}

// A record as the plugin writes it, for the growth scenarios' other live sessions.
function liveRecord (): { record: string, expires: number } {
  const now = Date.now()
  const expires = now + 7 * 24 * 3600 * 1000
  return { record: formatRecord({ stamp: { created: now, seen: now, expires }, version: 1, payload: JSON.stringify(FRESH) }), expires }
}

// memoryStorage holding `live` other sessions (room for 250 000 in every size, so only the count differs).
async function memoryWithLive (live: number): Promise<FastifyInstance> {
  const memoryStorage = await loadStorage('memory', 'memoryStorage')
  if (memoryStorage === undefined) throw new Unavailable('storages/memory.ts is not there yet')
  const storage = memoryStorage({ maxEntries: 250_000 })
  const { record, expires } = liveRecord()
  for (let i = 0; i < live; i++) await storage.write(storageKey('S', defaultIdentity()), record, expires)
  return ours('counter', { storage })
}

// Fills database `db` of the bench's redis-server with `keys` session-sized keys, by a Lua loop in
// batches of 1000 (a million keys in seconds; one SET per round trip would take minutes, and a
// longer script keeps Redis from the other servers long enough to time their commands out).
async function fillRedis (env: Environment, db: number, keys: number): Promise<void> {
  const { Redis } = await import('ioredis')
  const client = new Redis({ host: '127.0.0.1', port: redisPortOf(env), db })
  const { record, expires } = liveRecord()
  const script = "for i = ARGV[1], ARGV[2] do redis.call('SET', 'live:' .. i, ARGV[3], 'PXAT', ARGV[4]) end return 1"
  for (let from = 0; from < keys; from += 1000) {
    await client.eval(script, 0, from, Math.min(keys, from + 1000) - 1, record, expires)
  }
  await client.quit()
}

async function redisWithLive (env: Environment, db: number, keys: number): Promise<FastifyInstance> {
  await fillRedis(env, db, keys)
  return oursOnRedis('counter', env, db)
}

async function fastifySessionOnRedis (kind: Kind, env: Environment): Promise<FastifyInstance> {
  const { Redis } = await import('ioredis')
  const client = new Redis({ host: '127.0.0.1', port: redisPortOf(env) })
  const RedisStore = await peer('connect-redis')
  const fastify = await fastifySession(kind, new RedisStore({ client, prefix: `cr7-${kind}:` }))
  closeWith(fastify, () => client.quit())
  return fastify
}

function redisPortOf (env: Environment): number {
  if (env.redisPort === undefined) throw new Error('this scenario needs redis-server')
  return env.redisPort
}

function closeWith (fastify: FastifyInstance, close: () => Promise<unknown>): void {
  fastify.addHook('onClose', async () => { await close() })
}

const mac = (): SessionTransportTransformer => messageAuthentication({ key: KEY })
// Growth: the added cost may grow by at most 15% from the small size to the large one.
const GROWTH = 1 / 1.15

export const scenarios: readonly Scenario[] = [
  {
    id: 'bare',
    label: 'bare Fastify',
    kind: 'none',
    ours: false,
    async build () {
      const fastify = app()
      fastify.get('/', async () => ({ count: 0 }))
      return fastify
    },
  },
  {
    id: 'none',
    label: 'fastify-sessions, no session on the request',
    kind: 'none',
    ours: true,
    goals: [{ label: 'no session on the request: added cost within 3% of bare', bareShare: 0.03 }],
    build: () => ours('none', { transformers: [mac()] }),
  },
  {
    id: 'mac-read',
    label: 'messageAuthentication read',
    kind: 'read',
    ours: true,
    build: () => ours('read', { transformers: [mac()] }),
  },
  {
    // Issue 16: a subject's not-before time checked on every read (cached 1 s per subject); compare with mac-read.
    id: 'mac-revocations-read',
    label: 'client-side with revocations (messageAuthentication read)',
    kind: 'read',
    ours: true,
    build: async () => ours('read', { transformers: [messageAuthentication({ key: KEY })], subject: (s) => s.username, revocations: (await import('../lib/index.js')).memoryStorage() }),
  },
  {
    id: 'mac-counter',
    label: 'messageAuthentication counter',
    kind: 'counter',
    ours: true,
    goals: [{ label: 'messageAuthentication counter vs the hand-written HMAC counter', against: 'handwritten-counter', atLeast: 1 }],
    build: () => ours('counter', { transformers: [mac()] }),
  },
  {
    id: 'mac-counter-cold',
    label: 'messageAuthentication counter, cold cookies',
    kind: 'counter',
    ours: true,
    cold: true,
    goals: [{ label: 'messageAuthentication counter, cold, vs the hand-written HMAC counter, cold', against: 'handwritten-counter-cold', atLeast: 0.9 }],
    build: () => ours('counter', { transformers: [mac()] }),
  },
  {
    id: 'mac-read-cold',
    label: 'messageAuthentication read, cold cookies',
    kind: 'read',
    ours: true,
    cold: true,
    goals: [{ label: 'messageAuthentication read, cold, vs the hand-written HMAC read, cold', against: 'handwritten-read-cold', atLeast: 0.9 }],
    build: () => ours('read', { transformers: [mac()] }),
  },
  {
    id: 'chunks-read',
    label: 'messageAuthentication read, 9 KB over 3 chunk cookies',
    kind: 'read',
    ours: true,
    build: () => ours('read', { transformers: [mac()], cookie: { chunks: 3 } }, LARGE),
  },
  {
    id: 'chunks-counter',
    label: 'messageAuthentication counter, 9 KB over 3 chunk cookies',
    kind: 'counter',
    ours: true,
    cookies: 3,
    build: () => ours('counter', { transformers: [mac()], cookie: { chunks: 3 } }, LARGE),
  },
  {
    id: 'encrypt-counter',
    label: 'encrypt counter',
    kind: 'counter',
    ours: true,
    goals: [{ label: 'encrypt counter vs @fastify/secure-session counter', against: 'secure-session-counter', atLeast: 1 }],
    async build () {
      const encrypt = await loadEncrypt()
      if (encrypt === undefined) throw new Unavailable('transformers/encrypt.ts is not there yet')
      return ours('counter', { transformers: [encrypt({ key: KEY })] })
    },
  },
  {
    id: 'memory-counter',
    label: 'memoryStorage counter',
    kind: 'counter',
    ours: true,
    goals: [{ label: 'memoryStorage counter vs @fastify/session memory store counter', against: 'session-memory-counter', atLeast: 4 }],
    async build () {
      const memoryStorage = await loadStorage('memory', 'memoryStorage')
      if (memoryStorage === undefined) throw new Unavailable('storages/memory.ts is not there yet')
      return ours('counter', { storage: memoryStorage() })
    },
  },
  {
    id: 'memory-counter-10k',
    label: 'memoryStorage counter, 10 000 live sessions',
    kind: 'counter',
    ours: true,
    build: () => memoryWithLive(10_000),
  },
  {
    id: 'memory-counter-200k',
    label: 'memoryStorage counter, 200 000 live sessions',
    kind: 'counter',
    ours: true,
    goals: [{ label: 'memoryStorage counter: 200 000 live sessions vs 10 000 (growth <= 15%)', against: 'memory-counter-10k', atLeast: GROWTH }],
    build: () => memoryWithLive(200_000),
  },
  {
    id: 'directory-read',
    label: 'directoryStorage (cached) read',
    kind: 'read',
    ours: true,
    async build (env) {
      const directoryStorage = await loadStorage('directory', 'directoryStorage')
      if (directoryStorage === undefined) throw new Unavailable('storages/directory.ts is not there yet')
      return ours('read', { storage: directoryStorage(env.tmpdir + '/sessions', { cached: true }) })
    },
  },
  {
    id: 'redis-read',
    label: 'redisStorage read',
    kind: 'read',
    ours: true,
    redis: true,
    build: (env) => oursOnRedis('read', env),
  },
  {
    id: 'redis-counter',
    label: 'redisStorage counter',
    kind: 'counter',
    ours: true,
    redis: true,
    goals: [
      { label: 'redisStorage counter vs @fastify/session + connect-redis 7', against: 'session-redis7-counter', atLeast: 2.5 },
      { label: 'redisStorage counter vs the hand-written ioredis GET + SET counter', against: 'handwritten-redis-counter', atLeast: 0.95 },
    ],
    build: (env) => oursOnRedis('counter', env),
  },
  {
    id: 'redis-counter-10k',
    label: 'redisStorage counter, 10 000 keys',
    kind: 'counter',
    ours: true,
    redis: true,
    build: (env) => redisWithLive(env, 1, 10_000),
  },
  {
    id: 'redis-counter-1m',
    label: 'redisStorage counter, 1 000 000 keys',
    kind: 'counter',
    ours: true,
    redis: true,
    goals: [{ label: 'redisStorage counter: 1 000 000 keys vs 10 000 (growth <= 15%)', against: 'redis-counter-10k', atLeast: GROWTH }],
    build: (env) => redisWithLive(env, 2, 1_000_000),
  },
  {
    id: 'handwritten-counter',
    label: 'hand-written HMAC cookie counter, no plugin',
    kind: 'counter',
    ours: false,
    async build () { return handwritten() },
  },
  {
    id: 'handwritten-counter-cold',
    label: 'hand-written HMAC cookie counter, no plugin, cold cookies',
    kind: 'counter',
    ours: false,
    cold: true,
    async build () { return handwritten() },
  },
  {
    id: 'handwritten-read-cold',
    label: 'hand-written HMAC cookie read, no plugin, cold cookies',
    kind: 'read',
    ours: false,
    cold: true,
    async build () { return handwritten('read') },
  },
  {
    id: 'secure-session-counter',
    label: '@fastify/secure-session counter',
    kind: 'counter',
    ours: false,
    build: () => secureSession('counter'),
  },
  {
    id: 'secure-session-read',
    label: '@fastify/secure-session read',
    kind: 'read',
    ours: false,
    build: () => secureSession('read'),
  },
  {
    id: 'session-memory-counter',
    label: '@fastify/session memory store counter',
    kind: 'counter',
    ours: false,
    build: () => fastifySession('counter'),
  },
  {
    id: 'handwritten-redis-counter',
    label: 'hand-written Redis counter (ioredis GET + SET), no plugin',
    kind: 'counter',
    ours: false,
    redis: true,
    build: handwrittenRedis,
  },
  {
    id: 'session-redis7-counter',
    label: '@fastify/session + connect-redis 7 (ioredis) counter',
    kind: 'counter',
    ours: false,
    redis: true,
    build: (env) => fastifySessionOnRedis('counter', env),
  },
  {
    id: 'session-redis9-counter',
    label: '@fastify/session + connect-redis 9 (node-redis) counter',
    kind: 'counter',
    ours: false,
    redis: true,
    async build (env) {
      const { createClient } = await import('redis')
      const client = createClient({ url: `redis://127.0.0.1:${redisPortOf(env)}` })
      await client.connect()
      const { RedisStore } = await import(String('connect-redis-9'))
      const fastify = await fastifySession('counter', new RedisStore({ client, prefix: 'cr9:' }))
      closeWith(fastify, () => client.quit())
      return fastify
    },
  },
  {
    id: 'secretbox-counter',
    label: 'secretbox counter',
    kind: 'counter',
    ours: true,
    goals: [{ label: 'secretbox counter vs @fastify/secure-session counter', against: 'secure-session-counter', atLeast: 1.3 }],
    async build () {
      const { secretbox } = await import('../lib/index.js')
      return ours('counter', { transformers: [secretbox({ key: KEY })] })
    },
  },
  {
    id: 'secretbox-migrate-counter',
    label: 'secretbox counter, with migrate (requests carry our session, no old cookie)',
    kind: 'counter',
    ours: true,
    async build () {
      const { secretbox, fromSecureSession } = await import('../lib/index.js')
      const migrate = [fromSecureSession({ key: KEY, map: (old) => old['data'] === undefined ? null : FRESH })]
      return ours('counter', { transformers: [secretbox({ key: KEY })], migrate })
    },
  },
  {
    id: 'migrate-none',
    label: 'fastify-sessions with migrate, no session and no old cookie on the request',
    kind: 'none',
    ours: true,
    goals: [{ label: 'migrate, no old cookie: added cost within 3% of bare', bareShare: 0.03 }],
    async build () {
      const { secretbox, fromSecureSession } = await import('../lib/index.js')
      const migrate = [fromSecureSession({ key: KEY, map: (old) => old['data'] === undefined ? null : FRESH })]
      return ours('none', { transformers: [secretbox({ key: KEY })], migrate })
    },
  },
  // The real route: about 2 KB of JSON behind a login check, each against bare Fastify answering
  // the same JSON with no check, so the added cost is what the session adds to a real page.
  {
    id: 'route-bare',
    label: 'real route: bare Fastify, 2 KB JSON',
    kind: 'none',
    ours: false,
    async build () {
      const fastify = app()
      fastify.get('/', async () => page(0))
      return fastify
    },
  },
  {
    id: 'route-memory',
    label: 'real route: memoryStorage',
    kind: 'route',
    ours: true,
    base: 'route-bare',
    async build () {
      const memoryStorage = await loadStorage('memory', 'memoryStorage')
      if (memoryStorage === undefined) throw new Unavailable('storages/memory.ts is not there yet')
      return ours('route', { storage: memoryStorage() })
    },
  },
  {
    id: 'route-redis',
    label: 'real route: redisStorage',
    kind: 'route',
    ours: true,
    redis: true,
    base: 'route-bare',
    build: (env) => oursOnRedis('route', env),
  },
  {
    id: 'route-mac',
    label: 'real route: messageAuthentication cookie',
    kind: 'route',
    ours: true,
    base: 'route-bare',
    build: () => ours('route', { transformers: [mac()] }),
  },
  {
    id: 'route-session-memory',
    label: 'real route: @fastify/session memory store',
    kind: 'route',
    ours: false,
    base: 'route-bare',
    build: () => fastifySession('route'),
  },
  {
    id: 'route-session-redis7',
    label: 'real route: @fastify/session + connect-redis 7',
    kind: 'route',
    ours: false,
    redis: true,
    base: 'route-bare',
    build: (env) => fastifySessionOnRedis('route', env),
  },
  {
    id: 'route-secure-session',
    label: 'real route: @fastify/secure-session',
    kind: 'route',
    ours: false,
    base: 'route-bare',
    build: () => secureSession('route'),
  },
]

/** A scenario whose code has not landed yet: skipped with a notice. */
export class Unavailable extends Error {}
