// Lost updates on real storages: 200 concurrent increments of one session through a real app.
// With concurrency: 'reject' every request either wins (200) or conflicts (409), and the stored
// count is exactly the number of wins; with the default, last-write-wins, every request answers
// 200 and the stored count is the one the last writer wrote. The directory storage is also shown
// atomic across processes that share the directory.
// The requests come in waves of 10 that all read before any of them writes (a barrier, not a
// timer, so a loaded machine cannot serialize them): each wave overlaps, and reads what the
// earlier waves wrote.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import Type from 'typebox'
import { cookieSession, type SessionStorage } from '../lib/index.js'
import { directoryStorage } from '../storages/directory.js'
import { memoryStorage } from '../storages/memory.js'
import { redisStorage } from '../storages/redis.js'
import { buildApp, cookiesOf, RecordingStorage } from './helpers/app.js'
import { compileFixtures } from './helpers/compile.js'
import { redisSkip, startRedis } from './helpers/redis.js'
import { untracedEnv } from './helpers/child-env.js'

const REQUESTS = 200
const WAVE = 10
const skipRedis = redisSkip(t)

function tempDir (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'fss-lost-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const storages: Array<{ name: string, skip?: string | false, make: (t: Test) => Promise<SessionStorage> }> = [
  { name: 'memoryStorage', make: async () => memoryStorage() },
  {
    // A user-written storage: a Map with a compareAndWrite, each call a timer tick late.
    name: 'a storage of your own (RecordingStorage)',
    make: async () => Object.assign(new RecordingStorage(), { delay: 1 }),
  },
  { name: 'directoryStorage', make: async (t) => directoryStorage(tempDir(t)) },
  { name: 'directoryStorage cached', make: async (t) => directoryStorage(tempDir(t), { cached: true }) },
  {
    name: 'redisStorage',
    skip: skipRedis,
    make: async (t) => redisStorage({ client: (await startRedis(t)).client() }),
  },
]

/** A gate that opens once `n` callers have reached it. */
function barrier (n: number): () => Promise<void> {
  let arrived = 0
  let open = (): void => {}
  const opened = new Promise<void>((resolve) => { open = resolve })
  return () => {
    if (++arrived === n) open()
    return opened
  }
}

async function counterApp (t: Test, storage: SessionStorage, concurrency: 'reject' | 'last-write-wins') {
  const counter = cookieSession('COUNTER', Type.Object({ count: Type.Integer() }), { storage, concurrency })
  const app = await buildApp(t, [counter])
  let allRead = barrier(WAVE)
  app.get('/start', async (request) => { request.sessions.set(counter, { count: 0 }); return 'ok' })
  app.get('/inc', async (request) => {
    const s = request.sessions.get(counter)
    if (s === null) throw new Error('the session is gone')
    await allRead() // every request of the wave has read the session before any writes
    request.sessions.set(counter, { count: s.count + 1 })
    return { count: s.count + 1 }
  })
  app.get('/read', async (request) => request.sessions.get(counter))
  const cookie = cookiesOf((await app.inject('/start')).headers['set-cookie'])
  const fire = async () => {
    const responses = []
    for (let wave = 0; wave < REQUESTS / WAVE; wave++) {
      allRead = barrier(WAVE)
      responses.push(...await Promise.all(Array.from({ length: WAVE }, () => app.inject({ url: '/inc', headers: { cookie } }))))
    }
    return responses
  }
  const read = async () => (await app.inject({ url: '/read', headers: { cookie } })).json().count as number
  return { fire, read }
}

t.test('with concurrency: reject, 200 concurrent increments lose no update: successes + conflicts = requests, final count = successes', async (t) => {
  t.equal(REQUESTS, 200)
  for (const { name, skip = false, make } of storages) {
    await t.test(name, { skip }, async (t) => {
      const { fire, read } = await counterApp(t, await make(t), 'reject')
      const responses = await fire()
      const successes = responses.filter((r) => r.statusCode === 200)
      const conflicts = responses.filter((r) => r.statusCode === 409)
      t.equal(successes.length + conflicts.length, REQUESTS, 'every request either won or conflicted')
      t.ok(successes.length > 1 && conflicts.length > 0, `several requests won in turn and overlapping ones conflicted (${successes.length} won, ${conflicts.length} conflicted)`)
      t.ok(conflicts.every((r) => r.json().code === 'FST_SESSIONS_CONFLICT' && r.headers['set-cookie'] === undefined),
        'a conflict is FST_SESSIONS_CONFLICT and sets no cookie')
      t.equal(await read(), successes.length, 'the stored count is the number of wins: no update was lost')
      t.same(successes.map((r) => r.json().count).sort((a, b) => a - b), Array.from({ length: successes.length }, (_, i) => i + 1),
        'the winners saw 1, 2, 3, ... each exactly once')
    })
  }
})

t.test('the default, last-write-wins, lets concurrent increments overwrite each other', async (t) => {
  for (const { name, skip = false, make } of storages) {
    await t.test(name, { skip }, async (t) => {
      const { fire, read } = await counterApp(t, await make(t), 'last-write-wins')
      const responses = await fire()
      t.ok(responses.every((r) => r.statusCode === 200), 'no request fails')
      const written = new Set(responses.map((r) => r.json().count as number))
      const final = await read()
      t.ok(written.has(final), `the stored count (${final}) is one a request wrote`)
      t.ok(final < REQUESTS, `updates were lost, silently: ${REQUESTS - final} of ${REQUESTS} increments were overwritten`)
    })
  }
})

t.test('directoryStorage: compare-and-write increments from 4 processes sharing the directory lose nothing', async (t) => {
  const INCREMENTER = fileURLToPath(new URL('./fixtures/directory-incrementer.ts', import.meta.url))
  const script = (await compileFixtures(t, [INCREMENTER]))(INCREMENTER)
  const dir = tempDir(t)
  const env = untracedEnv()
  const PROCESSES = 4
  const TIMES = 50
  const runs = await Promise.all(Array.from({ length: PROCESSES }, () =>
    promisify(execFile)(process.execPath, [script, dir, 'counter', String(TIMES)], { env, timeout: 60_000 })))
  const lost = runs.reduce((sum, run) => sum + Number(run.stdout.trim()), 0)
  const storage = directoryStorage(dir, { sweepInterval: 0 })
  t.teardown(() => storage.close())
  t.equal(await storage.read('counter'), String(PROCESSES * TIMES), `every increment counted (${lost} compare-and-writes lost a race and retried)`)
})
