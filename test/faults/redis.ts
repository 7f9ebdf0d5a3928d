// Redis faults through the plugin, on one app that is never restarted: the server paused (a hang),
// killed, restarted, and out of memory (maxmemory with noeviction). Every fault answers a prompt
// 503 FST_SESSIONS_STORAGE_UNAVAILABLE (within the storage timeout and a margin, never a hang),
// the app recovers by itself, and every session acknowledged with a 2xx reads back at the end.
// (test/redis-plugin.test.ts and test/storage-redis-outage.test.ts cover single outages.)
import type { LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { redisStorage } from '../../storages/redis.js'
import { acknowledgingApp, check503, everyAcknowledgedSessionReadsBack } from '../helpers/fault-app.js'
import { settleWithin } from '../helpers/deadline.js'
import { redisSkip, startRedis, waitFor } from '../helpers/redis.js'

const skip = redisSkip(t)
const TIMEOUT = 300
// What may come between the storage's timeout firing and the 503 (see helpers/deadline.ts).
const MARGIN = 700

type Reply = LightMyRequestResponse

t.test('Redis paused, killed, restarted and out of memory: prompt 503s, recovery without a restart, no acknowledged session lost', { skip }, async (t) => {
  // Append-only with fsync always: what the server acknowledged survives its restart.
  const server = await startRedis(t, { appendonly: true, args: ['--maxmemory-policy', 'noeviction'] })
  const storage = redisStorage({ url: server.url, timeout: TIMEOUT, prefix: 'faults:' })
  const app = await acknowledgingApp(t, storage)
  const acknowledged = app.acknowledged
  const latencies: number[] = []
  let late = 0
  async function timed (run: () => Promise<Reply>): Promise<Reply> {
    const started = Date.now()
    const { result, inTime } = await settleWithin(run(), TIMEOUT + MARGIN)
    if (result.status === 'rejected') throw result.reason
    const response = result.value
    if (response.statusCode === 503) {
      latencies.push(Date.now() - started)
      if (!inTime) late++
    }
    return response
  }
  const doLogin = () => timed(() => app.login())
  const inc = (cookie: string) => timed(() => app.inc(cookie))
  const me = (cookie: string) => timed(() => app.me(cookie))
  const recovered = (what: string) => waitFor(what, async () => (await doLogin()).statusCode === 200 ? true : undefined, 15_000, 100)

  for (let i = 0; i < 20; i++) t.equal((await doLogin()).statusCode, 200)
  const cookie = [...acknowledged.keys()][0] as string
  t.equal((await inc(cookie)).statusCode, 200)

  await t.test('paused (SIGSTOP): 503 within the timeout, then recovery on SIGCONT', async (t) => {
    server.pause()
    check503(t, await doLogin(), 'a login')
    check503(t, await inc(cookie), 'a change')
    check503(t, await me(cookie), 'a read')
    server.resume()
    await recovered('logins to work after SIGCONT')
    t.equal((await inc(cookie)).statusCode, 200, 'changes work again')
  })

  await t.test('killed (SIGKILL): prompt 503s; restarted: recovery without restarting the app', async (t) => {
    await server.kill()
    check503(t, await doLogin(), 'a login')
    check503(t, await inc(cookie), 'a change')
    check503(t, await me(cookie), 'a read')
    await server.restart()
    await recovered('logins to work after the restart')
    t.equal((await me(cookie)).json().n, acknowledged.get(cookie)?.n, 'a session acknowledged before the crash is still there')
    t.equal((await inc(cookie)).statusCode, 200, 'changes work again')
  })

  await t.test('out of memory (noeviction): writes answer 503, reads work, recovery when memory is raised or freed', async (t) => {
    // A limit 1 MiB above what the server uses now (an idle server with an append-only file already
    // uses about 1 MiB), then 2 MiB more data than that, so every write is refused.
    const used = Number(/used_memory:(\d+)/.exec(String(await server.call('INFO', 'memory')))?.[1])
    const limit = String(used + 1024 * 1024)
    await server.call('SET', 'filler', 'x'.repeat(2 * 1024 * 1024))
    await server.call('CONFIG', 'SET', 'maxmemory', limit)
    t.teardown(() => server.call('CONFIG', 'SET', 'maxmemory', '0').catch(() => {}))
    const refused = await doLogin()
    check503(t, refused, 'a login')
    check503(t, await inc(cookie), 'a change (compare-and-write script)')
    const read = await me(cookie)
    t.equal(read.statusCode, 200, 'reads of existing sessions still work')
    t.equal(read.json().n, acknowledged.get(cookie)?.n)
    await server.call('CONFIG', 'SET', 'maxmemory', '0')
    t.equal((await doLogin()).statusCode, 200, 'logins work again once maxmemory is raised')

    await server.call('CONFIG', 'SET', 'maxmemory', limit)
    check503(t, await doLogin(), 'a login, out of memory again')
    await server.call('DEL', 'filler')
    await recovered('logins to work once keys are freed')
    t.equal((await inc(cookie)).statusCode, 200, 'changes work again')
  })

  await everyAcknowledgedSessionReadsBack(t, app)
  const slowest = Math.max(...latencies)
  t.comment(`${latencies.length} 503s; slowest ${slowest} ms, median ${latencies.sort((a, b) => a - b)[latencies.length >> 1]} ms (timeout ${TIMEOUT} ms)`)
  t.ok(latencies.length >= 10, 'the faults were answered with 503s')
  t.equal(late, 0, `every 503 came before a timer of the timeout + ${MARGIN} ms armed with its request (slowest ${slowest} ms)`)
})
