import Fastify from 'fastify'
import { expect, test } from 'tstyche'
import Type from 'typebox'
import sessions, {
  cookieSession, memoryStorage, sessionCompat,
  type CompatSession, type CookieOptions, type SessionCompatOptions, type SessionProvider,
} from 'fastify-sessions'
import { readSession, sessionCookie, sessionValue, type NamedCookie } from 'fastify-sessions/testing'

const Profile = Type.Object({ theme: Type.Optional(Type.String()), visits: Type.Optional(Type.Integer()) })
type ProfileData = { theme?: string, visits?: number }
const main = cookieSession('sessionId', Profile, { storage: memoryStorage() })

declare module 'fastify' {
  interface FastifyRequest { profile: CompatSession<ProfileData> }
}

test('sessionCompat registers with a provider and an optional decorator name', async () => {
  const app = Fastify()
  await app.register(sessions, { providers: [main] })
  await app.register(sessionCompat, { provider: main, decorator: 'profile' })
  expect<SessionCompatOptions>().type.toBeAssignableFrom({ provider: main })
  expect<SessionCompatOptions>().type.not.toBeAssignableFrom({ decorator: 'session' })
})

test('CompatSession: get and set are typed by the payload, the methods by the peer plugins\' calls', () => {
  const session = {} as CompatSession<ProfileData>
  expect(session.get('theme')).type.toBe<string | undefined>()
  expect(session.set('visits', 2)).type.toBe<void>()
  expect(session.set('visits', undefined)).type.toBe<void>()
  expect(() => session.set('visits', 'two')).type.toRaiseError()
  expect(session.regenerate(['theme'])).type.toBe<Promise<void>>()
  expect(session.regenerate()).type.toBe<Promise<void>>()
  expect(session.delete()).type.toBe<void>()
  expect(session.touch()).type.toBe<void>()
  expect(session.options({ maxAge: 3600 })).type.toBe<void>()
  expect(session.sessionId).type.toBe<string | null>()
  expect(session.data()).type.toBe<Partial<ProfileData>>()
  expect(session.save()).type.toBe<Promise<void>>()
  expect(session.anything).type.toBe<unknown>()
})

test('cookie options partitioned and priority', () => {
  expect<CookieOptions>().type.toBeAssignableFrom({ path: '/', secure: true, partitioned: true, priority: 'high' as const })
  expect<CookieOptions>().type.not.toBeAssignableFrom({ path: '/', priority: 'urgent' as const })
})

test('the test kit: sessionCookie and readSession are typed by the provider', async () => {
  const login: SessionProvider<{ user: string }> = cookieSession('LOGIN', Type.Object({ user: Type.String() }), { storage: memoryStorage() })
  expect(sessionCookie(login, { user: 'ada' })).type.toBe<Promise<string>>()
  expect(sessionCookie(login, { user: 'ada' }, { now: new Date(), maxAge: 60 })).type.toBe<Promise<string>>()
  expect(sessionValue(login, { user: 'ada' }, { now: 0 })).type.toBe<Promise<string>>()
  expect(sessionCookie(login, { name: 'ada' })).type.toRaiseError()
  expect(readSession(login, 'LOGIN=x')).type.toBe<Promise<{ user: string } | null>>()
  expect(readSession(login, ['a', 'b'])).type.toBe<Promise<{ user: string } | null>>()
  const cookies: NamedCookie[] = [{ name: 'LOGIN', value: 'x' }]
  expect(readSession(login, cookies)).type.toBe<Promise<{ user: string } | null>>()
})
