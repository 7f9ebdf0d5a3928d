import t from 'tap'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { redisStorage, type RedisStorage } from '../storages/redis.js'
import { freePort, redisSkip, startRedis, waitFor } from './helpers/redis.js'
import { fakeClock } from './helpers/app.js'
import { settleWithin } from './helpers/deadline.js'
import { heapMB } from './helpers/heap.js'

const skip = redisSkip(t)

/** How late a failure may come after the storage's timeout fired (see helpers/deadline.ts). */
const MARGIN = 400

function newKey (): string {
  return randomBytes(32).toString('base64url')
}

/**
 * Runs `call`, expects it to reject, and returns the error, how long it took, and whether it
 * failed before a timer of `within` ms armed with it (an order of events, not a time limit).
 */
async function failure (call: () => Promise<unknown>, within = 60_000): Promise<{ error: { code?: string, message: string }, ms: number, inTime: boolean }> {
  const started = performance.now()
  const { result, inTime } = await settleWithin(call(), within)
  if (result.status === 'fulfilled') throw new Error('the call succeeded')
  return { error: result.reason as { code?: string, message: string }, ms: performance.now() - started, inTime }
}

/** Every storage call, on keys none of the tests rely on afterwards. */
function everyCall (storage: RedisStorage): Array<[string, () => Promise<unknown>]> {
  return [
    ['read', () => storage.read(newKey())],
    ['write', () => storage.write(newKey(), 'v', Date.now() + 60_000)],
    ['touch', () => storage.touch(newKey(), Date.now() + 60_000)],
    ['invalidate', () => storage.invalidate(newKey())],
  ]
}

t.test('a hung server (SIGSTOP): every call fails within the timeout, and the storage recovers after SIGCONT', { skip }, async (t) => {
  const server = await startRedis(t)
  const admin = server.client()
  const timeout = 300
  const storage = redisStorage({ url: server.url, timeout })
  t.teardown(() => storage.close())
  const before = newKey()
  await storage.write(before, 'written before', Date.now() + 60_000)

  server.pause()
  // A write that reached the socket before the timeout runs when the server wakes; PXAT keeps it
  // from outliving the expiry it was given.
  const late = newKey()
  const lateExpiry = Date.now() + 60_000
  const first = await failure(() => storage.write(late, 'late', lateExpiry), timeout + MARGIN)
  t.equal(first.error.code, 'FST_SESSIONS_STORAGE_UNAVAILABLE', 'the first call: code')
  t.match(first.error.message, `got no answer within ${timeout} ms`, 'the first call: the timeout')
  t.ok(first.ms >= timeout - 5 && first.inTime, `the first call failed after ${first.ms.toFixed(0)} ms, before a timer of the timeout + ${MARGIN} ms`)
  // The storage made its client, and reconnects it: calls now fail at once while it reconnects,
  // or at their timeout while the stopped server never answers the new connection's ready check.
  for (const [name, call] of everyCall(storage)) {
    const { error, ms, inTime } = await failure(call, timeout + MARGIN)
    t.equal(error.code, 'FST_SESSIONS_STORAGE_UNAVAILABLE', `${name}: code`)
    t.ok(inTime, `${name} failed after ${ms.toFixed(0)} ms, before a timer of the timeout + ${MARGIN} ms`)
  }
  // A burst does not queue up behind the hang: every call has its own deadline.
  const started = performance.now()
  const { result: { value: burst = [] }, inTime } = await settleWithin(Promise.allSettled(Array.from({ length: 50 }, () => storage.read(before))), timeout + MARGIN) as { result: { value?: Array<PromiseSettledResult<unknown>> }, inTime: boolean }
  const burstMs = performance.now() - started
  t.ok(burst.length === 50 && burst.every((result) => result.status === 'rejected' &&
    (result.reason as { code?: string }).code === 'FST_SESSIONS_STORAGE_UNAVAILABLE'), 'all 50 calls failed')
  t.ok(inTime, `50 parallel calls failed after ${burstMs.toFixed(0)} ms, before a timer of the timeout + ${MARGIN} ms`)
  server.resume()

  // The client reconnects on its own; calls fail promptly until it has.
  const reread = await waitFor('the storage to answer again', async () => (await storage.read(before)) ?? undefined, 5000)
  t.equal(reread, 'written before', 'the value written before the hang reads back')
  const after = newKey()
  await storage.write(after, 'after', null)
  t.equal(await storage.read(after), 'after', 'the same storage works again')
  await waitFor('the late write to land', async () => (await admin.exists(`sess:${late}`)) === 1 ? true : undefined, 2000)
  t.equal(await admin.call('PEXPIRETIME', `sess:${late}`), lateExpiry, 'a late write keeps its own expiry')
})

t.test('a hung server: a client the storage made is reconnected, so unanswered commands are not kept', { skip }, async (t) => {
  const server = await startRedis(t)
  const storage = redisStorage({ url: server.url, timeout: 100 })
  t.teardown(() => storage.close())
  await storage.write(newKey(), 'connected', null)
  server.pause()
  t.teardown(() => server.resume())
  const record = 'r'.repeat(2048)
  const before = heapMB()
  let failed = 0
  for (let i = 0; i < 10; i++) {
    const results = await Promise.allSettled(Array.from({ length: 300 }, () => storage.write(newKey(), record, Date.now() + 60_000)))
    failed += results.filter((r) => r.status === 'rejected').length
  }
  const grown = heapMB() - before
  t.equal(failed, 3000, 'every write failed')
  t.ok(grown < 4, `the heap grew by ${grown.toFixed(2)} MB over 3000 unanswered writes of 2 KB`)
})

t.test('a step of the wall clock moves no timeout: a hung call still fails after the timeout', { skip }, async (t) => {
  const server = await startRedis(t)
  const timeout = 300
  // A client passed in: the storage never reconnects it, so every call meets the hang.
  const storage = redisStorage({ client: server.client(), timeout })
  await storage.write(newKey(), 'connected', null)
  server.pause()
  t.teardown(() => server.resume())
  const clock = fakeClock(t, Date.now(), { ticking: true })
  for (const step of [-5_000, 5_000]) {
    const calls = [storage.read(newKey()), storage.read(newKey())].map((call) => failure(() => call, timeout + MARGIN))
    // An NTP correction or a resumed VM, while both calls wait.
    clock.advance(step)
    for (const { error, ms, inTime } of await Promise.all(calls)) {
      t.equal(error.code, 'FST_SESSIONS_STORAGE_UNAVAILABLE')
      t.ok(ms >= timeout - 5 && inTime, `clock stepped ${step} ms: failed after ${ms.toFixed(0)} ms, before a timer of the timeout + ${MARGIN} ms`)
    }
  }
})

t.test('calls waiting on a connection that never gets ready keep nothing once they have failed', { skip }, async (t) => {
  const server = await startRedis(t)
  // A stopped server still accepts connections (the kernel does), and never answers the ready check.
  server.pause()
  t.teardown(() => server.resume())
  const storage = redisStorage({ url: server.url, timeout: 50 })
  t.teardown(() => storage.close())
  const batch = async (): Promise<number> => {
    const results = await Promise.allSettled(Array.from({ length: 500 }, () => storage.read(newKey())))
    return results.filter((r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'FST_SESSIONS_STORAGE_UNAVAILABLE').length
  }
  await batch()
  const before = heapMB()
  let failed = 0
  for (let i = 0; i < 10; i++) failed += await batch()
  const grown = heapMB() - before
  t.equal(failed, 5000, 'every call failed, at its timeout')
  t.not(storage.client.status, 'ready', 'the connection never got ready')
  t.ok(grown < 3, `the heap grew by ${grown.toFixed(2)} MB over 5000 failed calls`)
  t.ok(storage.client.listenerCount('ready') <= 1, 'no listener left per call')
})

t.test('the default 1000 ms timeout bounds calls through a client that has no timeout of its own', { skip }, async (t) => {
  const server = await startRedis(t)
  const client = server.client()
  const storage = redisStorage({ client })
  await client.ping()
  const key = newKey()
  await storage.write(key, 'v', Date.now() + 60_000)

  server.pause()
  const { error, ms, inTime } = await failure(() => storage.read(key), 1000 + MARGIN)
  t.equal(error.code, 'FST_SESSIONS_STORAGE_UNAVAILABLE')
  t.match(error.message, 'got no answer within 1000 ms')
  t.ok(ms >= 995 && inTime, `read failed after ${ms.toFixed(0)} ms, before a timer of 1000 + ${MARGIN} ms`)
  server.resume()
  t.equal(await storage.read(key), 'v')
})

t.test('a killed server: calls fail at once, and after a restart the storage recovers with the data', { skip }, async (t) => {
  const server = await startRedis(t, { appendonly: true })
  const storage = redisStorage({ url: server.url })
  t.teardown(() => storage.close())
  const before = newKey()
  await storage.write(before, 'written before', Date.now() + 60_000)

  await server.kill()
  const lost = newKey()
  for (const [name, call] of [...everyCall(storage), ['write to keep', () => storage.write(lost, 'lost', null)] as const]) {
    const { error, ms, inTime } = await failure(call, 500)
    t.equal(error.code, 'FST_SESSIONS_STORAGE_UNAVAILABLE', `${name}: code`)
    // Depending on how far ioredis got in noticing the drop: our gate, or ioredis's own refusal.
    t.match(error.message, /not connected|Connection is closed|Stream isn't writeable/, `${name}: message, not the timeout`)
    t.ok(inTime, `${name} failed after ${ms.toFixed(1)} ms, before a timer of half the 1000 ms timeout`)
  }

  await server.restart()
  const restarted = performance.now()
  const value = await waitFor('the storage to reconnect', async () => await storage.read(before).catch(() => undefined) ?? undefined, 5000, 20)
  t.comment(`calls succeed again ${(performance.now() - restarted).toFixed(0)} ms after the restart`)
  t.equal(value, 'written before', 'the value written before the crash reads back')
  t.equal(await storage.read(lost), null, 'the write that failed during the outage was not replayed')
  const after = newKey()
  await storage.write(after, 'after', null)
  t.equal(await storage.read(after), 'after')
})

t.test('a call in flight when the server dies fails as the connection drops, not at the timeout', { skip }, async (t) => {
  const server = await startRedis(t)
  const storage = redisStorage({ url: server.url, timeout: 5000 })
  t.teardown(() => storage.close())
  await storage.read(newKey())
  server.pause()
  const pending = failure(() => storage.read(newKey()))
  await sleep(50)
  const killed = performance.now()
  const { result, inTime } = await settleWithin((async () => { await server.kill(); return await pending })(), 2500)
  const ms = performance.now() - killed
  if (result.status === 'rejected') throw result.reason
  t.equal(result.value.error.code, 'FST_SESSIONS_STORAGE_UNAVAILABLE')
  t.notMatch(result.value.error.message, 'got no answer', 'not the timeout')
  t.ok(inTime, `failed ${ms.toFixed(0)} ms after the kill, before a timer of half the 5000 ms timeout`)
})

t.test('a client passed in with an offline queue: a call made while disconnected is not replayed later', { skip }, async (t) => {
  const server = await startRedis(t)
  const client = server.client()
  const storage = redisStorage({ client })
  await client.ping()

  await server.kill()
  await waitFor('the client to notice', async () => client.status === 'ready' ? undefined : true)
  const key = newKey()
  const { error, ms, inTime } = await failure(() => storage.write(key, 'queued?', null), 500)
  t.equal(error.code, 'FST_SESSIONS_STORAGE_UNAVAILABLE')
  t.match(error.message, 'not connected')
  t.ok(inTime, `failed after ${ms.toFixed(1)} ms, before a timer of half the 1000 ms timeout`)

  await server.restart()
  await waitFor('the client to reconnect', async () => client.status === 'ready' ? true : undefined, 5000, 20)
  await sleep(100)
  t.equal(await client.exists(`sess:${key}`), 0, 'nothing was written after the failure was reported')
})

t.test('made while Redis is unreachable: no throw, no wait, prompt failures, then it works once Redis is up', { skip }, async (t) => {
  const port = await freePort()
  const errors: Error[] = []
  // Made at once: the CPU time it takes, which a loaded machine does not stretch as it does wall time.
  const cpu = process.cpuUsage()
  const storage = redisStorage({ url: `redis://127.0.0.1:${port}`, onError: (err) => errors.push(err) })
  const { user, system } = process.cpuUsage(cpu)
  t.teardown(() => storage.close())
  t.ok(user + system < 50_000, `made at once (${((user + system) / 1000).toFixed(1)} ms of CPU)`)

  const { error, ms, inTime } = await failure(() => storage.read(newKey()), 500)
  t.equal(error.code, 'FST_SESSIONS_STORAGE_UNAVAILABLE')
  t.ok(inTime, `the first call failed after ${ms.toFixed(1)} ms, before a timer of half the 1000 ms timeout`)
  await waitFor('a connection error', async () => errors.length > 0 ? true : undefined, 2000)
  t.match(errors[0], { code: 'ECONNREFUSED' }, 'connection errors go to onError')

  const server = await startRedis(t, { port })
  const key = newKey()
  await waitFor('the storage to connect', async () => { await storage.write(key, 'v', null); return true }, 5000, 20)
  t.equal(await server.client().get(`sess:${key}`), 'v')
})

t.test('close() while reconnecting stops the reconnection attempts at once', { skip }, async (t) => {
  const port = await freePort()
  const storage = redisStorage({ url: `redis://127.0.0.1:${port}` })
  let attempts = 0
  storage.client.on('connecting', () => { attempts++ })
  await waitFor('a few attempts', async () => attempts >= 2 ? true : undefined, 3000, 10)
  const { inTime } = await settleWithin(storage.close(), 500)
  t.ok(inTime, 'close() does not wait: it ends before a timer of half the 1000 ms timeout')
  const seen = attempts
  await sleep(700)
  t.equal(attempts, seen, 'no attempt after close()')
  await t.rejects(storage.read(newKey()), { code: 'FST_SESSIONS_STORAGE_UNAVAILABLE', message: /storage is closed/ })
})
