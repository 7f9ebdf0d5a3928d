import { test } from 'tap'
import Type from 'typebox'
import { parseOptions, parseOptionsWithDefaults, withDefault } from '../../lib/options.js'
import { CacheStorageOptionsSchema } from '../../storages/cache.js'
import { MemoryStorageOptionsSchema } from '../../storages/memory.js'
import { RedisStorageOptionsSchema } from '../../storages/redis.js'
import { DirectoryStorageOptionsSchema } from '../../storages/directory.js'
import { DigestOptionsSchema } from '../../transformers/digest.js'
import { KtorEncryptOptionsSchema } from '../../transformers/ktor-encrypt.js'
import { MessageAuthenticationOptionsSchema } from '../../transformers/message-authentication.js'

const Schema = Type.Object({
  size: withDefault(Type.Integer({ minimum: 1 }), 10),
  name: withDefault(Type.String(), 'x'),
  note: Type.Optional(Type.String()),
}, { additionalProperties: false })

test('a property declared withDefault is optional to the caller and there once parsed', async (t) => {
  const input = { note: 'n' }
  const parsed = parseOptionsWithDefaults(Schema, input, 'test()')
  // The types say so: these compile only because `size` and `name` are known to be present.
  const size: number = parsed.size
  const name: string = parsed.name
  const note: string | undefined = parsed.note
  t.same({ size, name, note }, { size: 10, name: 'x', note: 'n' })
  t.same(input, { note: 'n' }, "the caller's object is untouched")
  t.same(parseOptionsWithDefaults(Schema, { size: 3, name: 'y' }, 'test()'), { size: 3, name: 'y' }, 'a value given wins')
  t.throws(() => parseOptionsWithDefaults(Schema, { size: 0 }, 'test()'), { code: 'FST_SESSIONS_OPTIONS' }, 'and is still checked')
})

test('withDefault makes the same JSON schema and the same parse as a default written inline', async (t) => {
  const inline = Type.Object({ size: Type.Optional(Type.Integer({ minimum: 1, default: 10 })) })
  const declared = Type.Object({ size: withDefault(Type.Integer({ minimum: 1 }), 10) })
  t.same(JSON.parse(JSON.stringify(declared)), JSON.parse(JSON.stringify(inline)))
  t.same(parseOptions(declared, {}, 'test()'), parseOptions(inline, {}, 'test()'))
  t.same(parseOptions(declared, undefined, 'test()'), { size: 10 })
})

test('the storages declare their defaults once, in their schemas', async (t) => {
  t.same(parseOptionsWithDefaults(MemoryStorageOptionsSchema, undefined, 'memoryStorage()'), { maxEntries: 100_000 })
  t.same(parseOptionsWithDefaults(CacheStorageOptionsSchema, undefined, 'cacheStorage()'), { ttl: 60, maxEntries: 10_000 })
  t.same(parseOptionsWithDefaults(RedisStorageOptionsSchema, { url: 'redis://localhost' }, 'redisStorage()'), { url: 'redis://localhost', prefix: 'sess:', timeout: 1000 })
  t.same(parseOptionsWithDefaults(DirectoryStorageOptionsSchema, undefined, 'directoryStorage()'), { cached: false, sweepInterval: 60, sweepBatch: 1000 })
})

test('the transformers declare their defaults once, in their schemas', async (t) => {
  const key = Buffer.alloc(32)
  t.same(parseOptionsWithDefaults(MessageAuthenticationOptionsSchema, { key }, 'messageAuthentication()'), { key, algorithm: 'sha256' })
  t.same(parseOptionsWithDefaults(DigestOptionsSchema, undefined, 'digest()'), { salt: 'ktor', algorithm: 'SHA-384' })
  t.same(parseOptionsWithDefaults(KtorEncryptOptionsSchema, { encryptionKey: key, signKey: key }, 'ktorEncrypt()'),
    { encryptionKey: key, signKey: key, backwardCompatibleRead: false, signAlgorithm: 'HmacSHA256' })
})
