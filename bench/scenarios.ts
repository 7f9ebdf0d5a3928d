// The benchmark's scenarios: one Fastify app each, built in its own server process (server.ts).
//
// Every app answers two routes: GET /prime sets a fresh session ({ username, count: 0 }) and is
// called once before loading, to obtain a valid session cookie; GET / is what the load hits with
// that cookie: a counter reads the session and writes it back with count + 1, a read only reads it.
//
// The peer plugins are loaded with dynamic imports of non-literal specifiers: @fastify/session and
// @fastify/secure-session both augment FastifyRequest with a `session` of different types, and
// importing both for their types would not compile in one program.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import Type from 'typebox'
import sessions, { cookieSession, hex, messageAuthentication, type SessionStorage, type SessionTransportTransformer } from '../lib/index.js'

export type Kind = 'counter' | 'read' | 'none'

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
  build (env: Environment): Promise<FastifyInstance>
}

const Payload = Type.Object({ username: Type.String(), count: Type.Integer() })
interface Data { username: string, count: number }

// Fixed keys: this is a benchmark, not a deployment.
const KEY = hex('8f1d3c5b7a9e0f2d4c6b8a0e1f3d5c7b9a8e6f4d2c0b1a3e5f7d9c8b6a4e2f01')
const SECRET = 'a fixed secret of at least thirty-two characters, bench only'

const FRESH: Data = { username: 'bench', count: 0 }

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

// An app with our plugin and one cookie provider named S.
async function ours (kind: Kind, options: Options): Promise<FastifyInstance> {
  const fastify = app()
  const provider = cookieSession('S', Payload, options)
  await fastify.register(sessions, { providers: [provider] })
  fastify.get('/prime', async (request) => {
    request.sessions.set(provider, FRESH)
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
  write: (request: FastifyRequest, reply: FastifyReply, data: Data) => void | Promise<void>
): FastifyInstance {
  fastify.get('/prime', async (request, reply) => {
    await write(request, reply, FRESH)
    return { count: 0 }
  })
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
function handwritten (): FastifyInstance {
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
  })
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

// Our plugin over the bench's redis-server, each scenario under its own key prefix.
async function oursOnRedis (kind: Kind, env: Environment): Promise<FastifyInstance> {
  const redisStorage = await loadStorage('redis', 'redisStorage')
  if (redisStorage === undefined) throw new Unavailable('storages/redis.ts is not there yet')
  return ours(kind, { storage: redisStorage({ url: `redis://127.0.0.1:${redisPortOf(env)}`, prefix: `ours-${kind}:` }) })
}

function redisPortOf (env: Environment): number {
  if (env.redisPort === undefined) throw new Error('this scenario needs redis-server')
  return env.redisPort
}

function closeWith (fastify: FastifyInstance, close: () => Promise<unknown>): void {
  fastify.addHook('onClose', async () => { await close() })
}

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
    build: () => ours('none', { transformers: [messageAuthentication({ key: KEY })] }),
  },
  {
    id: 'mac-read',
    label: 'messageAuthentication read',
    kind: 'read',
    ours: true,
    build: () => ours('read', { transformers: [messageAuthentication({ key: KEY })] }),
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
    build: () => ours('counter', { transformers: [messageAuthentication({ key: KEY })] }),
  },
  {
    id: 'encrypt-counter',
    label: 'encrypt counter',
    kind: 'counter',
    ours: true,
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
    async build () {
      const memoryStorage = await loadStorage('memory', 'memoryStorage')
      if (memoryStorage === undefined) throw new Unavailable('storages/memory.ts is not there yet')
      return ours('counter', { storage: memoryStorage() })
    },
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
    build: (env) => oursOnRedis('counter', env),
  },
  {
    id: 'handwritten-counter',
    label: 'hand-written HMAC cookie counter, no plugin',
    kind: 'counter',
    ours: false,
    async build () { return handwritten() },
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
    async build (env) {
      const { Redis } = await import('ioredis')
      const client = new Redis({ host: '127.0.0.1', port: redisPortOf(env) })
      const RedisStore = await peer('connect-redis')
      const fastify = await fastifySession('counter', new RedisStore({ client, prefix: 'cr7:' }))
      closeWith(fastify, () => client.quit())
      return fastify
    },
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
]

/** A scenario whose code has not landed yet: skipped with a notice. */
export class Unavailable extends Error {}
