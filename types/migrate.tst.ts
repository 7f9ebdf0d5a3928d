import RedisStore from 'connect-redis'
import connectPgSimple from 'connect-pg-simple'
import expressSession from 'express-session'
import { Redis } from 'ioredis'
import { expect, test } from 'tstyche'
import Type from 'typebox'
import {
  connectStore, cookieSession, fromConnectSession, fromSecureSession, hex, memoryStorage, secretbox,
  type ConnectStore, type SecretboxOptions, type SessionMigration, type SessionStorage, type SessionTransportTransformer,
} from 'fastify-sessions'

const key = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f')
const User = Type.Object({ user: Type.String() })

test('secretbox is a transformer made from bytes', () => {
  expect(secretbox({ key })).type.toBe<SessionTransportTransformer>()
  expect(secretbox).type.toBeCallableWith({ key: [key, key] })
  expect(secretbox).type.not.toBeCallableWith({ key: 'a passphrase' })
  expect(secretbox).type.not.toBeCallableWith({})
  expect<SecretboxOptions>().type.toBe<{ key: Uint8Array | readonly Uint8Array[] }>()
})

test('a migration carries what map returns, and map sees the old data', () => {
  const moved = fromSecureSession({
    key,
    map: (data) => {
      expect(data).type.toBe<Record<string, unknown>>()
      return typeof data['user'] === 'string' ? { user: data['user'] } : null
    },
  })
  expect(moved).type.toBe<SessionMigration<{ user: string }>>()
  expect(fromSecureSession).type.not.toBeCallableWith({ key })
  expect(fromSecureSession).type.toBeCallableWith({ key, cookieName: 'session', expiry: 86401, cookie: { path: '/' }, map: () => null })
})

test('fromConnectSession takes the old secret and a connect store', () => {
  const store = new expressSession.MemoryStore()
  expect(fromConnectSession({ secret: 's', store, map: () => ({ user: 'a' }) })).type.toBe<SessionMigration<{ user: string }>>()
  expect(fromConnectSession).type.toBeCallableWith({ secret: ['new', 'old'], store, cookieName: 'connect.sid', map: () => null })
  expect(fromConnectSession).type.not.toBeCallableWith({ secret: 's', map: () => null })
  expect(fromConnectSession).type.not.toBeCallableWith({ secret: 1, store, map: () => null })
})

test('a provider takes migrations in its migrate option', () => {
  const migrate = [fromSecureSession({ key, map: (d) => ({ user: String(d['user']) }) })]
  expect(cookieSession).type.toBeCallableWith('app', User, { storage: memoryStorage(), migrate })
  expect(cookieSession).type.toBeCallableWith('app', User, { transformers: [secretbox({ key })], migrate })
  expect(cookieSession).type.not.toBeCallableWith('app', User, { migrate: ['session'] })
})

test('connectStore turns connect stores into a SessionStorage', () => {
  expect(connectStore(new RedisStore({ client: new Redis({ lazyConnect: true }) }))).type.toBe<SessionStorage>()
  const PgStore = connectPgSimple(expressSession)
  expect(connectStore(new PgStore({ conString: 'postgres://localhost/db' }))).type.toBe<SessionStorage>()
  expect(connectStore(new expressSession.MemoryStore())).type.toBe<SessionStorage>()
  expect(connectStore).type.not.toBeCallableWith({ get: () => {} })
  const custom: ConnectStore = { get: (_sid, cb) => { cb(null, null) }, set: (_sid, _s, cb) => { cb?.() }, destroy: (_sid, cb) => { cb?.() } }
  expect(connectStore(custom)).type.toBe<SessionStorage>()
})
