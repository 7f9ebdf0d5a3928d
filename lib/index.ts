// The package root: every public name of API.md.
// Side-effect import so the declaration files carry the FastifyRequest augmentation.
import '../types/fastify.js'
import { fastifySessions } from './plugin.js'

export { fastifySessions }
export default fastifySessions
export type { SessionsOptions } from './plugin.js'

// Declaring sessions
export { cookieSession, headerSession } from './provider.js'
export type { SessionProvider, SessionPayload, InvalidReason } from './provider.js'
export type { CookieOptions, CookieSessionOptions, HeaderSessionOptions } from './provider-options.js'
export type { SessionContainer, ProviderRef, SetOptions } from './container.js'
export type { CookieEncoding } from './cookie-encoding.js'

// request.session for the plugins that expect one (passport, flash, csrf-protection)
export { sessionCompat } from './session-compat.js'
export type { CompatSession, SessionCompatOptions } from './session-compat.js'

// Moving from other session libraries
export { fromSecureSession } from './migrate/secure-session.js'
export type { FromSecureSessionOptions } from './migrate/secure-session.js'
export { fromConnectSession } from './migrate/connect-session.js'
export type { FromConnectSessionOptions } from './migrate/connect-session.js'
export type { SessionMigration, MigratedSession, OldCookieOptions } from './migrate/migration.js'

// A user's sessions
export type { SessionListing, SessionMetadata, SessionMetadataOptions } from './subjects.js'
export type { RevokeAllOptions } from './user-sessions.js'
export type { SubjectEntry } from '../storages/storage.js'

// Serializers
export { jsonSerializer } from './serializer.js'
export type { SessionSerializer } from './serializer.js'
export { ktorSerializer } from './ktor-serializer.js'
export type { KtorSerializerOptions } from './ktor-serializer.js'

// Storages
export type { SessionStorage } from '../storages/storage.js'
export { memoryStorage } from '../storages/memory.js'
export type { MemoryStorage, MemoryStorageOptions } from '../storages/memory.js'
export { directoryStorage } from '../storages/directory.js'
export type { DirectoryStorage, DirectoryStorageOptions } from '../storages/directory.js'
export { cacheStorage } from '../storages/cache.js'
export type { CacheStorage, CacheStorageOptions } from '../storages/cache.js'
export { redisStorage } from '../storages/redis.js'
export type { RedisStorage, RedisStorageOptions } from '../storages/redis.js'
export { connectStore } from '../storages/connect.js'
export type { ConnectStore, ConnectSession } from '../storages/connect.js'

// Transformers and keys
export type { SessionTransportTransformer } from '../transformers/transformer.js'
export { messageAuthentication } from '../transformers/message-authentication.js'
export type { MessageAuthenticationOptions } from '../transformers/message-authentication.js'
export { encrypt } from '../transformers/encrypt.js'
export type { EncryptOptions } from '../transformers/encrypt.js'
export { ktorEncrypt } from '../transformers/ktor-encrypt.js'
export type { KtorEncryptOptions, IvGenerator } from '../transformers/ktor-encrypt.js'
export { digest } from '../transformers/digest.js'
export type { DigestOptions } from '../transformers/digest.js'
export { secretbox } from '../transformers/secretbox.js'
export type { SecretboxOptions } from '../transformers/secretbox.js'
export { hex } from '../transformers/keys.js'
export type { KeyInput } from '../transformers/keys.js'

// Errors
export * from './errors.js'
