import Fastify from 'fastify'
import { expect, test } from 'tstyche'
import Type from 'typebox'
import sessions, {
  cookieSession, memoryStorage, messageAuthentication, hex,
  type RevokeAllOptions, type SessionListing, type SessionMetadata, type SessionStorage, type SubjectEntry,
} from 'fastify-sessions'

const User = Type.Object({ userId: Type.String(), admin: Type.Boolean() })

test('subject takes the provider\'s payload type', () => {
  expect(cookieSession).type.toBeCallableWith('S', User, { storage: memoryStorage(), subject: (s: { userId: string, admin: boolean }) => s.userId })
  cookieSession('S', User, { storage: memoryStorage(), subject: (s) => s.admin ? null : s.userId })
  expect(cookieSession).type.not.toBeCallableWith('S', User, { storage: memoryStorage(), subject: (s: { userId: number }) => String(s.userId) })
  expect(cookieSession).type.not.toBeCallableWith('S', User, { storage: memoryStorage(), subject: () => 42 })
})

test('metadata and revocations', () => {
  expect(cookieSession).type.toBeCallableWith('S', User, { storage: memoryStorage(), subject: () => 'u', metadata: { userAgent: true, ip: false } })
  expect(cookieSession).type.toBeCallableWith('S', User, { storage: memoryStorage(), subject: () => 'u', metadata: true })
  expect(cookieSession).type.not.toBeCallableWith('S', User, { storage: memoryStorage(), metadata: { referer: true } })
  expect(cookieSession).type.toBeCallableWith('S', User, { transformers: [messageAuthentication({ key: hex('00') })], subject: () => 'u', revocations: memoryStorage() })
  expect<SessionMetadata>().type.toBe<boolean | { userAgent?: boolean, ip?: boolean }>()
})

test('list, revoke and revokeAll on request.sessions', async () => {
  const login = cookieSession('S', User, { storage: memoryStorage(), subject: (s) => s.userId })
  const app = Fastify()
  await app.register(sessions, { providers: [login] })
  app.get('/', async (request) => {
    expect(request.sessions.list(login)).type.toBe<Promise<SessionListing[]>>()
    expect(request.sessions.revoke(login, 'handle')).type.toBe<Promise<boolean>>()
    expect(request.sessions.revokeAll(login)).type.toBe<Promise<void>>()
    expect(request.sessions.revokeAll).type.toBeCallableWith(login, { exceptCurrent: true })
    expect(request.sessions.revokeAll).type.not.toBeCallableWith(login, { exceptCurrent: 'yes' })
    return 'ok'
  })
  expect<RevokeAllOptions>().type.toBe<{ exceptCurrent?: boolean }>()
})

test('a listed session', () => {
  expect<SessionListing>().type.toBe<{
    handle: string
    current: boolean
    createdAt: number
    lastSeenAt: number
    expiresAt: number | null
    userAgent?: string
    ip?: string
  }>()
})

test('sessionsOf and revokeAll on a provider', () => {
  const login = cookieSession('S', User, { storage: memoryStorage(), subject: (s) => s.userId })
  expect(login.sessionsOf('u1')).type.toBe<Promise<SessionListing[]>>()
  expect(login.revokeAll('u1')).type.toBe<Promise<void>>()
  expect(login.revokeAll).type.not.toBeCallableWith(42)
})

test('the subject index capability of a storage', () => {
  const storage: SessionStorage = memoryStorage()
  expect(storage.indexSubject).type.toBe<((subject: string, key: string, value: string, expiresAt: number | null) => Promise<void>) | undefined>()
  expect(storage.subjectEntries).type.toBe<((subject: string) => Promise<SubjectEntry[]>) | undefined>()
  expect(memoryStorage().unindexSubject).type.toBe<(subject: string, keys: readonly string[]) => Promise<void>>()
  expect<SubjectEntry>().type.toBe<{ key: string, value: string, expiresAt: number | null }>()
})

test('watch returns the unsubscribe', async () => {
  const login = cookieSession('S', User, { storage: memoryStorage(), subject: (s) => s.userId })
  const app = Fastify()
  await app.register(sessions, { providers: [login] })
  app.get('/', async (request) => {
    expect(request.sessions.watch(login, () => {})).type.toBe<() => void>()
    expect(request.sessions.watch).type.not.toBeCallableWith(login)
    return 'ok'
  })
})

test('the built-in storages declare the capabilities they have', () => {
  expect(memoryStorage().subjectIndexSize).type.toBe<number>()
  expect<Parameters<SessionStorage['publishEnded'] & {}>>().type.toBe<[keys: readonly string[]]>()
  expect<Parameters<SessionStorage['subscribeEnded'] & {}>>().type.toBe<[listener: (keys: string[]) => void]>()
})
