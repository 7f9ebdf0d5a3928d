import t from 'tap'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { redisStorage } from '../storages/redis.js'
import { fakeClock } from './helpers/app.js'
import { REDIS_MISSING, redisSkip, redisVerdict, startRedis } from './helpers/redis.js'

const skip = redisSkip(t)

/** A key of the form the plugin passes: 43 base64url characters. */
function newKey (): string {
  return randomBytes(32).toString('base64url')
}

t.test('without redis-server the suites fail under CI and are skipped loudly elsewhere', async (t) => {
  t.same(redisVerdict(true, { CI: 'true' }), { skip: false })
  const ci = redisVerdict(false, { CI: 'true' })
  t.equal(ci.skip, REDIS_MISSING)
  t.match(ci, { fail: /apt-get install redis-server/ })
  const local = redisVerdict(false, {})
  t.same(local, { skip: REDIS_MISSING })
  t.match(REDIS_MISSING, 'Redis suites skipped: apt-get install redis-server')
})

t.test('the helper: a redis-server that exits at start fails the start at once, with its log', { skip }, async (t) => {
  // Date.now stands still: the helper's 10 s wait can never run out, only the exit can end it.
  fakeClock(t)
  await t.rejects(startRedis(t, { args: ['--no-such-directive', 'x'] }), { message: /exited at start[^]*no-such-directive/ })
})

t.test('the helper: a restart whose port another process took meanwhile fails at once, saying so; ports are below the ephemeral range', { skip }, async (t) => {
  const server = await startRedis(t)
  const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'latin1').trim().split(/\s+/)[0])
  t.ok(server.port < low, `port ${server.port} is below the ephemeral range (${low}), which no outgoing connection gets`)
  await server.kill()
  const squatter = createServer((socket) => socket.destroy())
  await new Promise<void>((resolve) => squatter.listen(server.port, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => squatter.close(resolve)))
  fakeClock(t)
  await t.rejects(server.restart(), { message: new RegExp(`could not start again on port ${server.port}, which another process took`) })
  t.notOk(server.running, 'and no process is left behind')
})

t.test('bad options are refused at once with FST_SESSIONS_OPTIONS', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['no client, url or options', {}, /one of client, url or options is required/],
    ['a client that is not an ioredis client', { client: { get () {} } }, /client must be an ioredis Redis or Cluster/],
    ['a timeout of 0', { url: 'redis://127.0.0.1:1', timeout: 0 }, /timeout/],
    ['a prefix that is not a string', { url: 'redis://127.0.0.1:1', prefix: 7 }, /prefix/],
    ['an unknown option', { url: 'redis://127.0.0.1:1', ttl: 5 }, /unknown option "ttl"/],
    ['onError that is not a function', { url: 'redis://127.0.0.1:1', onError: 'log' }, /onError must be a function/],
  ]
  for (const [what, options, message] of cases) {
    t.throws(() => redisStorage(options as never), { code: 'FST_SESSIONS_OPTIONS', message }, what)
  }
})

t.test('standalone', { skip }, async (t) => {
  const server = await startRedis(t, { args: ['--unixsocket', 'redis.sock', '--unixsocketperm', '700'] })
  const admin = server.client()

  t.test('a written value reads back byte for byte; an unknown key reads as null', async (t) => {
    const storage = redisStorage({ client: admin })
    const key = newKey()
    const value = '{"username":"Jöhn 🍪","count":1}' + 'x'.repeat(5000)
    await storage.write(key, value, Date.now() + 60_000)
    t.equal(await storage.read(key), value)
    t.equal(await storage.read(newKey()), null)
    await storage.write(key, 'second', Date.now() + 60_000)
    t.equal(await storage.read(key), 'second', 'a later write replaces the value')
  })

  t.test('calls that answered leave no timer holding the process up', async (t) => {
    const storage = redisStorage({ client: admin, timeout: 60_000 })
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
    const before = timers()
    const key = newKey()
    await Promise.all(Array.from({ length: 20 }, (_, i) => storage.write(key, String(i), null)))
    t.equal(await storage.read(key), '19', 'the calls ran in order')
    t.equal(timers(), before, 'no ref\'d timer is left for the 60 s deadline')
  })

  t.test('keys are the prefix followed by the key, sess: by default', async (t) => {
    const plain = redisStorage({ client: admin })
    const other = redisStorage({ client: admin, prefix: 'app2:' })
    const key = newKey()
    await plain.write(key, 'one', null)
    await other.write(key, 'two', null)
    t.equal(await admin.get(`sess:${key}`), 'one')
    t.equal(await admin.get(`app2:${key}`), 'two')
    t.equal(await plain.read(key), 'one', 'storages with different prefixes do not see each other')
    t.equal(await other.read(key), 'two')
  })

  t.test('a value expires at expiresAt, on the millisecond (PXAT)', async (t) => {
    const storage = redisStorage({ client: admin })
    const key = newKey()
    const expiresAt = Date.now() + 30_000
    await storage.write(key, 'v', expiresAt)
    t.equal(await admin.call('PEXPIRETIME', `sess:${key}`), expiresAt)
    const pttl = await admin.pttl(`sess:${key}`)
    t.ok(pttl > 25_000 && pttl <= 30_000, `PTTL ${pttl} is within the expiry`)

    // Redis expires by its own clock, the real one: a second of life, so that a loaded machine
    // still reads the value before it expires.
    const short = newKey()
    const shortExpiry = Date.now() + 1000
    await storage.write(short, 'v', shortExpiry)
    t.equal(await storage.read(short), 'v')
    await new Promise((resolve) => setTimeout(resolve, shortExpiry - Date.now() + 100))
    t.equal(await storage.read(short), null, 'gone once expired')
    t.equal(await admin.exists(`sess:${short}`), 0)
  })

  t.test('a write without expiry persists; one already expired leaves nothing behind', async (t) => {
    const storage = redisStorage({ client: admin })
    const key = newKey()
    await storage.write(key, 'v', Date.now() + 30_000)
    await storage.write(key, 'forever', null)
    t.equal(await admin.pttl(`sess:${key}`), -1, 'a null expiry removes the previous one')
    await storage.write(key, 'stale', Date.now() - 1)
    t.equal(await admin.exists(`sess:${key}`), 0, 'the existing value is removed too')
    t.equal(await storage.read(key), null)
    const fresh = newKey()
    await storage.write(fresh, 'stale', Date.now() - 60_000)
    t.equal(await admin.exists(`sess:${fresh}`), 0)
  })

  t.test('an expiry that is not a finite number is refused and writes nothing', async (t) => {
    const storage = redisStorage({ client: admin })
    const key = newKey()
    await t.rejects(storage.write(key, 'v', Number.NaN), { name: 'TypeError', message: /finite/ })
    await t.rejects(storage.touch(key, Number.POSITIVE_INFINITY), { name: 'TypeError', message: /finite/ })
    t.equal(await admin.exists(`sess:${key}`), 0)
  })

  t.test('invalidate deletes the key; unknown keys are not an error', async (t) => {
    const storage = redisStorage({ client: admin })
    const key = newKey()
    await storage.write(key, 'v', Date.now() + 60_000)
    await storage.invalidate(key)
    t.equal(await admin.exists(`sess:${key}`), 0)
    t.equal(await storage.read(key), null)
    await t.resolves(storage.invalidate(newKey()))
  })

  t.test('touch moves the expiry without rewriting the value', async (t) => {
    const storage = redisStorage({ client: admin })
    const key = newKey()
    await storage.write(key, 'payload', Date.now() + 10_000)
    const setsBefore = await commandCalls(admin, 'set')
    const later = Date.now() + 90_000
    await storage.touch(key, later)
    t.equal(await admin.call('PEXPIRETIME', `sess:${key}`), later)
    t.equal(await storage.read(key), 'payload')
    t.equal(await commandCalls(admin, 'set'), setsBefore, 'no SET was sent')
    t.ok(await commandCalls(admin, 'pexpireat') > 0, 'PEXPIREAT was sent')

    await storage.touch(key, null)
    t.equal(await admin.pttl(`sess:${key}`), -1, 'a null expiry persists the key')
    t.equal(await storage.read(key), 'payload')

    const missing = newKey()
    await storage.touch(missing, Date.now() + 60_000)
    t.equal(await admin.exists(`sess:${missing}`), 0, 'touch never creates a key')

    await storage.touch(key, Date.now() - 1)
    t.equal(await admin.exists(`sess:${key}`), 0, 'an expiry in the past removes the key')
  })

  t.test('close() leaves a client passed in open, and later calls fail', async (t) => {
    const client = server.client()
    const storage = redisStorage({ client })
    const key = newKey()
    await storage.write(key, 'v', null)
    await storage.close()
    await storage.close()
    t.equal(client.status, 'ready')
    t.equal(await client.get(`sess:${key}`), 'v', 'the client still works')
    await t.rejects(storage.read(key), { code: 'FST_SESSIONS_STORAGE_UNAVAILABLE', message: /storage is closed/ })
  })

  t.test('close() ends a client the storage made, once, and it does not reconnect', async (t) => {
    const name = `owned-${newKey().slice(0, 8)}`
    const storage = redisStorage({ url: server.url, options: { connectionName: name } })
    const key = newKey()
    await storage.write(key, 'v', null)
    t.match(await admin.client('LIST'), name, 'the storage holds a connection')
    await Promise.all([storage.close(), storage.close()])
    await storage.close()
    t.equal(storage.client.status, 'end')
    await new Promise((resolve) => setTimeout(resolve, 100))
    t.notMatch(await admin.client('LIST'), name, 'its connection is gone')
    t.equal(await admin.get(`sess:${key}`), 'v', 'QUIT let the write finish')
  })

  t.test('a storage made from options reaches Redis over a unix socket', async (t) => {
    const storage = redisStorage({ options: { path: join(server.dir, 'redis.sock') }, prefix: 'unix:' })
    t.teardown(() => storage.close())
    const key = newKey()
    await storage.write(key, 'v', Date.now() + 60_000)
    t.equal(await admin.get(`unix:${key}`), 'v')
    t.equal(await storage.read(key), 'v')
  })

  t.test('options passed in are not modified', async (t) => {
    const options = { url: server.url, options: { connectionName: 'x' }, prefix: 'p:' }
    const copy = structuredClone(options)
    const storage = redisStorage(options)
    await storage.close()
    t.same(options, copy)
  })
})

async function commandCalls (client: { info (section: string): Promise<string> }, command: string): Promise<number> {
  const stats = await client.info('commandstats')
  const line = stats.split('\n').find((l) => l.startsWith(`cmdstat_${command}:`))
  return line === undefined ? 0 : Number(/calls=(\d+)/.exec(line)?.[1] ?? 0)
}
