// The memory storage under a flood: a million random session ids, most straight into the storage
// and a few thousand through the app, never take it past its bound, in entries or in heap; a
// flood of made-up ids through the app answers 200 with no session and stores nothing.
import { randomBytes } from 'node:crypto'
import t from 'tap'
import Type from 'typebox'
import { cookieSession } from '../../lib/index.js'
import { memoryStorage } from '../../storages/memory.js'
import { buildApp, cookiesOf } from '../helpers/app.js'
import { heapBytes } from '../helpers/heap.js'

// Ten times the bound: enough for the evictions to run in steady state long after the bound is reached.
const BOUND = 20_000
const FLOOD = 10 * BOUND
const THROUGH_APP = 4000

t.test('ten times maxEntries in writes of random ids keep the memory storage at its bound, in entries and in heap', async (t) => {
  // A bound below the default 100 000 (test/options/defaults.ts) makes the flood cheap, not weaker.
  const storage = memoryStorage({ maxEntries: BOUND })
  t.teardown(() => storage.close())
  const value = '1:' + 'x'.repeat(120)
  const expiresAt = Date.now() + 3_600_000
  const bound = BOUND
  let atBound = 0
  let maxSize = 0
  const started = Date.now()
  for (let i = 0; i < FLOOD; i++) {
    await storage.write(randomBytes(16).toString('base64url'), value, expiresAt)
    if (storage.size > maxSize) maxSize = storage.size
    if (i === 2 * bound) atBound = heapBytes()
  }
  const after = heapBytes()
  t.comment(`${FLOOD} writes in ${Date.now() - started} ms; heap ${(atBound / 2 ** 20).toFixed(1)} MiB at ${2 * bound} writes, ${(after / 2 ** 20).toFixed(1)} MiB after ${FLOOD}`)
  t.equal(maxSize, bound, 'never more than maxEntries entries')
  t.equal(storage.size, bound, 'the newest are kept')
  t.ok(after - atBound < 16 * 2 ** 20, `the heap does not grow once the bound is reached (${((after - atBound) / 2 ** 20).toFixed(1)} MiB)`)
})

t.test(`${THROUGH_APP} new sessions and ${THROUGH_APP} made-up ids through the app: all 200, the bound holds, made-up ids store nothing`, async (t) => {
  const storage = memoryStorage({ maxEntries: 1000 })
  const login = cookieSession('LOGIN', Type.Object({ user: Type.String() }), { storage })
  const app = await buildApp(t, [login])
  app.post('/login', async (request) => { request.sessions.set(login, { user: 'someone' }); return 'ok' })
  app.get('/me', async (request) => ({ session: request.sessions.get(login) }))

  let created = 0
  for (let i = 0; i < THROUGH_APP; i += 200) {
    const responses = await Promise.all(Array.from({ length: 200 }, () => app.inject({ method: 'POST', url: '/login' })))
    created += responses.filter((r) => r.statusCode === 200 && cookiesOf(r.headers['set-cookie']).startsWith('LOGIN=')).length
  }
  t.equal(created, THROUGH_APP, 'every login answered 200 with a session cookie')
  t.equal(storage.size, 1000, 'the storage holds its bound, the most recent sessions')

  const before = storage.size
  let answered = 0
  for (let i = 0; i < THROUGH_APP; i += 200) {
    const responses = await Promise.all(Array.from({ length: 200 }, () => app.inject({
      url: '/me',
      headers: { cookie: `LOGIN=${randomBytes(32).toString('base64url')}` },
    })))
    answered += responses.filter((r) => r.statusCode === 200 && r.json().session === null && r.headers['set-cookie'] === undefined).length
  }
  t.equal(answered, THROUGH_APP, 'every made-up id answered 200 with no session and no cookie')
  t.equal(storage.size, before, 'and stored nothing')
})
