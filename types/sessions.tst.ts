import Fastify from 'fastify'
import { expect, test } from 'tstyche'
import Type from 'typebox'
import sessions, {
  cookieSession, headerSession, memoryStorage, messageAuthentication, hex,
  type CookieOptions, type CookieSessionOptions, type SessionProvider, type SessionSerializer, type SessionStorage, type SessionTransportTransformer,
} from 'fastify-sessions'

const Login = Type.Object({ username: Type.String(), count: Type.Integer() })
const login = cookieSession('LOGIN', Login, { transformers: [messageAuthentication({ key: hex('00') })] })

test('a provider carries its payload type', () => {
  expect(login).type.toBe<SessionProvider<{ username: string, count: number }>>()
  expect(headerSession('X-S', Type.Object({ a: Type.Boolean() }))).type.toBe<SessionProvider<{ a: boolean }>>()
})

test('get returns the schema\'s type, read-only, or null', async () => {
  const app = Fastify()
  await app.register(sessions, { providers: [login] })
  app.get('/', async (request) => {
    expect(request.sessions.get(login)).type.toBe<Readonly<{ username: string, count: number }> | null>()
    expect(request.sessions.getOrSet(login, () => ({ username: 'a', count: 0 }))).type.toBe<Readonly<{ username: string, count: number }>>()
    const s = request.sessions.get(login)
    if (s !== null) expect(() => { s.count = 2 }).type.toRaiseError('read-only')
    expect(request.sessions.reload(login)).type.toBe<Promise<Readonly<{ username: string, count: number }> | null>>()
    expect(request.sessions.reload('LOGIN')).type.toBe<Promise<Readonly<unknown> | null>>()
    expect(request.sessions.id(login)).type.toBe<string | null>()
    expect(request.sessions.save(login)).type.toBe<Promise<void>>()
    return 'ok'
  })
})

test('set takes exactly the schema\'s shape', async () => {
  const app = Fastify()
  app.get('/', async (request) => {
    request.sessions.set(login, { username: 'a', count: 1 })
    expect(request.sessions.set).type.toBeCallableWith(login, { username: 'a', count: 1 })
    expect(request.sessions.set).type.toBeCallableWith(login, { username: 'a', count: 1 }, { maxAge: 30 * 86400 })
    expect(request.sessions.set).type.not.toBeCallableWith(login, { username: 'a', count: 1 }, { maxAge: '1d' })
    expect(request.sessions.set).type.not.toBeCallableWith(login, { username: 'a' })
    expect(request.sessions.set).type.not.toBeCallableWith(login, { username: 'a', count: '1' })
    return 'ok'
  })
})

test('a user-written storage, transformer and serializer fit the interfaces', () => {
  class MapStorage implements SessionStorage {
    private readonly map = new Map<string, string>()
    async read (key: string) { return this.map.get(key) ?? null }
    async write (key: string, value: string, _expiresAt: number | null) { this.map.set(key, value) }
    async invalidate (key: string) { this.map.delete(key) }
  }
  const reverse: SessionTransportTransformer = {
    transformRead: (value) => [...value].reverse().join(''),
    transformWrite: (value) => [...value].reverse().join(''),
  }
  const serializer: SessionSerializer<{ username: string, count: number }> = {
    serialize: (s) => `${s.username}|${s.count}`,
    deserialize: (text) => ({ username: text.split('|')[0] ?? '', count: Number(text.split('|')[1]) }),
  }
  expect(cookieSession('S', Type.Object({ username: Type.String(), count: Type.Integer() }), {
    storage: new MapStorage(), transformers: [reverse], serializer,
  })).type.toBe<SessionProvider<{ username: string, count: number }>>()
  expect(cookieSession('S', Login, { storage: memoryStorage({ maxEntries: 10 }) })).type.toBe<SessionProvider<{ username: string, count: number }>>()
})

test('a serializer for another type is refused', () => {
  const other: SessionSerializer<{ other: string }> = { serialize: () => '', deserialize: () => ({ other: '' }) }
  expect(cookieSession).type.not.toBeCallableWith('S', Login, { serializer: other })
})

test('options are typed: unknown options and wrong values do not compile', () => {
  expect(cookieSession).type.not.toBeCallableWith('S', Login, { cookie: { sameSite: 'sometimes' } })
  expect(cookieSession).type.not.toBeCallableWith('S', Login, { maxAge: '1 day' })
  expect(cookieSession).type.toBeCallableWith('S', Login, { cookie: { secure: 'auto', encoding: 'base64', maxAge: null }, idleTimeout: 600 })
  expect(messageAuthentication).type.not.toBeCallableWith({ key: 'secret' })
})

test('cookie.chunks is a number of cookies, for cookie sessions only', () => {
  expect(cookieSession).type.toBeCallableWith('S', Login, { cookie: { chunks: 3 } })
  expect(cookieSession).type.not.toBeCallableWith('S', Login, { cookie: { chunks: '3' } })
  expect(headerSession).type.not.toBeCallableWith('X-S', Login, { cookie: { chunks: 3 } })
  expect<CookieSessionOptions['cookie']>().type.toBe<CookieOptions | undefined>()
  expect<CookieOptions['chunks']>().type.toBe<number | undefined>()
})

test('routes can choose which sessions they load', () => {
  const app = Fastify()
  app.get('/a', { config: { sessions: false } }, async () => 'ok')
  app.get('/b', { config: { sessions: ['LOGIN'] } }, async () => 'ok')
  expect(app.get).type.not.toBeCallableWith('/c', { config: { sessions: true } }, async () => 'ok')
})
