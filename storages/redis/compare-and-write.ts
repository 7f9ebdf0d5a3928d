// `compareAndWrite` is one Lua script on the key's node (a Cluster routes it by its one key): Redis
// runs a script alone, so its GET, compare and SET (or DEL) are atomic with respect to every other
// command. It is sent by EVALSHA, and by EVAL when the server answers NOSCRIPT (after a restart or
// SCRIPT FLUSH), both within the one deadline of the call that sends them. A late compare-and-write
// from a hung server only writes over the value it expected, so it never overwrites a change made
// meanwhile.
import { createHash } from 'node:crypto'
import type { Cluster, Redis } from 'ioredis'
import type { Expiry } from '../expiry.js'

// KEYS[1]: the key. ARGV: '1' when a value is expected ('0': absent expected), the expected value,
// the new value, the mode ('keep': no expiry, 'at': PXAT ARGV[5], 'del': the expiry has passed).
// Answers 1 when it wrote (or deleted), 0 when the stored value was not the expected one.
const COMPARE_AND_WRITE = `local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then return 0 end
elseif current then
  return 0
end
if ARGV[4] == 'del' then
  redis.call('DEL', KEYS[1])
elseif ARGV[4] == 'at' then
  redis.call('SET', KEYS[1], ARGV[3], 'PXAT', ARGV[5])
else
  redis.call('SET', KEYS[1], ARGV[3])
end
return 1`
const COMPARE_AND_WRITE_SHA = createHash('sha1').update(COMPARE_AND_WRITE).digest('hex')

const MODES = { never: 'keep', passed: 'del', at: 'at' } as const

/**
 * Runs the script on `client` for the prefixed key `redisKey`; resolves whether it wrote (or, for
 * an expiry already past, deleted). The caller bounds it in time.
 */
export function compareAndWriteScript (
  client: Redis | Cluster, redisKey: string, expected: string | null, value: string, expiry: Expiry
): Promise<boolean> {
  const args = [redisKey, expected === null ? '0' : '1', expected ?? '', value, MODES[expiry.kind],
    expiry.kind === 'at' ? expiry.at : 0]
  // No async frame of its own: this runs on every server-side write.
  return client.evalsha(COMPARE_AND_WRITE_SHA, 1, ...args).then(wrote, (err: unknown) => {
    if (!/^NOSCRIPT/.test((err as Error).message)) throw err
    return client.eval(COMPARE_AND_WRITE, 1, ...args).then(wrote)
  })
}

function wrote (answer: unknown): boolean {
  return answer === 1
}
