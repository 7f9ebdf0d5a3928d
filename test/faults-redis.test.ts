// Redis faults through the plugin, on one app that is never restarted: the server paused (a hang),
// killed, restarted, and out of memory (maxmemory with noeviction). Every fault answers a prompt
// 503 FST_SESSIONS_STORAGE_UNAVAILABLE (within the storage timeout and a margin, never a hang),
// the app recovers by itself, and every session acknowledged with a 2xx reads back at the end.
// (test/redis-plugin.test.ts and test/storage-redis-outage.test.ts cover single outages.)
import t, { type Test } from 'tap'
import Type from 'typebox'
import { cookieSession } from '../lib/index.js'
import { redisStorage } from '../storages/redis.js'
import { buildApp, cookiesOf } from './helpers/app.js'
import { redisSkip, startRedis, waitFor } from './helpers/redis.js'

const skip = redisSkip(t)
const TIMEOUT = 300
// What a loaded 2-core machine may add to the timeout.
const MARGIN = 700

interface Reply { statusCode: number, headers: Record<string, unknown>, body: string, json (): any }

t.test('Redis paused, killed, restarted and out of memory: prompt 503s, recovery without a restart, no acknowledged session lost', { skip }, async (t) => {
  // Append-only with fsync always: what the server acknowledged survives its restart.
  const server = await startRedis(t, { appendonly: true, args: ['--maxmemory-policy', 'noeviction'] })
  const storage = redisStorage({ url: server.url, timeout: TIMEOUT, prefix: 'faults:' })
  const login = cookieSession('LOGIN', Type.Object({ user: Type.String(), n: Type.Integer() }), { storage, concurrency: 'reject' })
  const app = await buildApp(t, [login])
  let users = 0
  app.post('/login', async (request) => { request.sessions.set(login, { user: `user ${users++}`, n: 0 }); return 'ok' })
  app.post('/inc', async (request) => {
    const s = request.sessions.get(login)
    if (s !== null) request.sessions.set(login, { ...s, n: s.n + 1 })
    return s
  })
  app.get('/me', async (request) => request.sessions.get(login))

  const acknowledged = new Map<string, { user: string, n: number }>()
  const latencies: number[] = []
  async function timed (run: () => Promise<Reply>): Promise<Reply> {
    const started = Date.now()
    const response = await run()
    if (response.statusCode === 503) latencies.push(Date.now() - started)
    return response
  }
  const doLogin = () => timed(async () => {
    const response = await app.inject({ method: 'POST', url: '/login' })
    if (response.statusCode === 200) acknowledged.set(cookiesOf(response.headers['set-cookie']), { user: `user ${users - 1}`, n: 0 })
    return response
  })
  const inc = (cookie: string) => timed(async () => {
    const response = await app.inject({ method: 'POST', url: '/inc', headers: { cookie } })
    const before = acknowledged.get(cookie)
    if (response.statusCode === 200 && before !== undefined) acknowledged.set(cookie, { ...before, n: before.n + 1 })
    return response
  })
  const me = (cookie: string) => timed(() => app.inject({ url: '/me', headers: { cookie } }))
  function unavailable (t: Test, response: Reply, what: string): void {
    t.equal(response.statusCode, 503, `${what}: 503`)
    t.equal(response.json().code, 'FST_SESSIONS_STORAGE_UNAVAILABLE', `${what}: FST_SESSIONS_STORAGE_UNAVAILABLE`)
    t.equal(response.headers['set-cookie'], undefined, `${what}: no cookie`)
  }
  const recovered = (what: string) => waitFor(what, async () => (await doLogin()).statusCode === 200 ? true : undefined, 15_000, 100)

  for (let i = 0; i < 20; i++) t.equal((await doLogin()).statusCode, 200)
  const cookie = [...acknowledged.keys()][0] as string
  t.equal((await inc(cookie)).statusCode, 200)

  await t.test('paused (SIGSTOP): 503 within the timeout, then recovery on SIGCONT', async (t) => {
    server.pause()
    unavailable(t, await doLogin(), 'a login')
    unavailable(t, await inc(cookie), 'a change')
    unavailable(t, await me(cookie), 'a read')
    server.resume()
    await recovered('logins to work after SIGCONT')
    t.equal((await inc(cookie)).statusCode, 200, 'changes work again')
  })

  await t.test('killed (SIGKILL): prompt 503s; restarted: recovery without restarting the app', async (t) => {
    await server.kill()
    unavailable(t, await doLogin(), 'a login')
    unavailable(t, await inc(cookie), 'a change')
    unavailable(t, await me(cookie), 'a read')
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
    unavailable(t, refused, 'a login')
    unavailable(t, await inc(cookie), 'a change (compare-and-write script)')
    const read = await me(cookie)
    t.equal(read.statusCode, 200, 'reads of existing sessions still work')
    t.equal(read.json().n, acknowledged.get(cookie)?.n)
    await server.call('CONFIG', 'SET', 'maxmemory', '0')
    t.equal((await doLogin()).statusCode, 200, 'logins work again once maxmemory is raised')

    await server.call('CONFIG', 'SET', 'maxmemory', limit)
    unavailable(t, await doLogin(), 'a login, out of memory again')
    await server.call('DEL', 'filler')
    await recovered('logins to work once keys are freed')
    t.equal((await inc(cookie)).statusCode, 200, 'changes work again')
  })

  const missing: string[] = []
  for (const [c, expected] of acknowledged) {
    const response = await me(c)
    if (response.statusCode !== 200 || JSON.stringify(response.json()) !== JSON.stringify(expected)) missing.push(`${expected.user}: ${response.body}`)
  }
  t.same(missing, [], `all ${acknowledged.size} sessions acknowledged with a 2xx read back as acknowledged`)
  const slowest = Math.max(...latencies)
  t.comment(`${latencies.length} 503s; slowest ${slowest} ms, median ${latencies.sort((a, b) => a - b)[latencies.length >> 1]} ms (timeout ${TIMEOUT} ms)`)
  t.ok(latencies.length >= 10, 'the faults were answered with 503s')
  t.ok(slowest < TIMEOUT + MARGIN, `every 503 came within the timeout and a margin (slowest ${slowest} ms)`)
})
