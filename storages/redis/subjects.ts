// The subject index in Redis: per subject, a sorted set of session keys scored by expiry and a
// hash of their metadata, both named with the subject between braces, so a Cluster keeps them in
// one slot and each script below runs on one node. The sessions themselves stay wherever their
// own keys hash to: they are read and deleted one key at a time, which works across slots. Each
// script drops the expired entries first, and both keys expire with the last entry (PEXPIREAT),
// so an index never outlives its sessions nor grows past the live ones.
import { createHash } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import { checkExpiry, hasExpired } from '../expiry.js'
import type { SubjectEntry, WithSubjects } from '../storage.js'
import type { Commands } from './commands.js'

// KEYS: the sorted set, the hash. Every script takes `now` first and prunes entries expired by it.
const PRUNE = `local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for i = 1, #gone, 1000 do
  redis.call('HDEL', KEYS[2], unpack(gone, i, math.min(i + 999, #gone)))
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
`
// After a change: both keys live as long as the last entry (or forever, for an entry with none).
const EXPIRE = `local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if #last == 0 then
  redis.call('DEL', KEYS[2])
elseif last[2] == 'inf' then
  redis.call('PERSIST', KEYS[1])
  redis.call('PERSIST', KEYS[2])
else
  redis.call('PEXPIREAT', KEYS[1], last[2])
  redis.call('PEXPIREAT', KEYS[2], last[2])
end
`
// ARGV: now, key, value, expiry ('inf' for none).
const INDEX = PRUNE + `redis.call('ZADD', KEYS[1], ARGV[4], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
` + EXPIRE + 'return 1'
// ARGV: now, then the keys to remove.
const UNINDEX = PRUNE + `for i = 2, #ARGV do
  redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('HDEL', KEYS[2], ARGV[i])
end
` + EXPIRE + 'return 1'
// ARGV: now. Answers key, value, expiry, key, value, expiry, ...
const ENTRIES = PRUNE + `local live = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local out = {}
for i = 1, #live, 2 do
  out[#out + 1] = live[i]
  out[#out + 1] = redis.call('HGET', KEYS[2], live[i]) or ''
  out[#out + 1] = live[i + 1]
end
` + EXPIRE + 'return out'

interface Script { source: string, sha: string }

function script (source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') }
}

const SCRIPTS = { index: script(INDEX), unindex: script(UNINDEX), entries: script(ENTRIES) }

async function run (client: Redis | Cluster, s: Script, keys: [string, string], args: Array<string | number>): Promise<unknown> {
  try {
    return await client.evalsha(s.sha, 2, ...keys, ...args)
  } catch (err) {
    if (!/^NOSCRIPT/.test((err as Error).message)) throw err
    return await client.eval(s.source, 2, ...keys, ...args)
  }
}

/** The subject index methods of a Redis storage whose keys start with `prefix`. */
export function redisSubjects (client: Redis | Cluster, commands: Commands, prefix: string): Pick<WithSubjects, 'indexSubject' | 'subjectEntries' | 'unindexSubject'> {
  const keysOf = (subject: string): [string, string] => [`${prefix}subject:{${subject}}:at`, `${prefix}subject:{${subject}}:meta`]
  return {
    async indexSubject (subject, key, value, expiresAt) {
      checkExpiry(expiresAt)
      if (typeof value !== 'string') throw new TypeError('value must be a string')
      const now = Date.now()
      if (hasExpired(expiresAt, now)) return await this.unindexSubject(subject, [key])
      const at = expiresAt === null ? 'inf' : Math.ceil(expiresAt)
      await commands.run('EVALSHA', () => run(client, SCRIPTS.index, keysOf(subject), [now, key, value, at]))
    },
    async subjectEntries (subject): Promise<SubjectEntry[]> {
      const now = Date.now()
      const flat = await commands.run('EVALSHA', () => run(client, SCRIPTS.entries, keysOf(subject), [now])) as string[]
      const out: SubjectEntry[] = []
      for (let i = 0; i + 2 < flat.length; i += 3) {
        const score = flat[i + 2] as string
        out.push({ key: flat[i] as string, value: flat[i + 1] as string, expiresAt: score === 'inf' ? null : Number(score) })
      }
      return out
    },
    async unindexSubject (subject, keys) {
      if (keys.length === 0) return
      await commands.run('EVALSHA', () => run(client, SCRIPTS.unindex, keysOf(subject), [Date.now(), ...keys]))
    },
  }
}
