// The Redis storage lives in storages/redis/ (storage.ts and the modules it names); this path is
// the one lib/index.ts and users import.
export { redisStorage, RedisStorageOptionsSchema } from './redis/storage.js'
export type { RedisStorage, RedisStorageOptions } from './redis/storage.js'
