import { test } from 'tap'
import Type from 'typebox'
import { cookieSession } from '../lib/index.js'
import { buildApp, cookiesOf, RecordingStorage } from './helpers/app.js'

const Counter = () => Type.Object({ count: Type.Integer() })

async function counterApp (t: Parameters<typeof buildApp>[0], storage: RecordingStorage, concurrency: 'reject' | 'last-write-wins') {
  const counter = cookieSession('COUNTER', Counter(), { storage, concurrency })
  const app = await buildApp(t, [counter])
  app.get('/start', async (request) => { request.sessions.set(counter, { count: 0 }); return 'ok' })
  app.get('/inc', async (request) => {
    const s = request.sessions.get(counter)
    if (s === null) return { count: null }
    request.sessions.set(counter, { count: s.count + 1 })
    return { count: s.count + 1 }
  })
  app.get('/read', async (request) => request.sessions.get(counter))
  const cookie = cookiesOf((await app.inject('/start')).headers['set-cookie'])
  return { app, cookie }
}

test('with concurrency: reject, 200 concurrent increments lose no update: successes + conflicts = requests, final count = successes', async (t) => {
  const storage = new RecordingStorage()
  storage.delay = 1 // lets requests interleave between read and write
  const { app, cookie } = await counterApp(t, storage, 'reject')
  const responses = await Promise.all(Array.from({ length: 200 }, () => app.inject({ url: '/inc', headers: { cookie } })))
  const successes = responses.filter((r) => r.statusCode === 200).length
  const conflicts = responses.filter((r) => r.statusCode === 409)
  t.equal(successes + conflicts.length, 200)
  t.ok(conflicts.length > 0, `some requests conflicted (${conflicts.length})`)
  t.equal(conflicts[0]?.json().code, 'FST_SESSIONS_CONFLICT')
  t.equal(conflicts[0]?.headers['set-cookie'], undefined)
  t.equal((await app.inject({ url: '/read', headers: { cookie } })).json().count, successes)
})

test('the default, last-write-wins, lets concurrent increments overwrite each other', async (t) => {
  const storage = new RecordingStorage()
  storage.delay = 1
  const { app, cookie } = await counterApp(t, storage, 'last-write-wins')
  const responses = await Promise.all(Array.from({ length: 50 }, () => app.inject({ url: '/inc', headers: { cookie } })))
  t.ok(responses.every((r) => r.statusCode === 200))
  const final = (await app.inject({ url: '/read', headers: { cookie } })).json().count
  t.ok(final < 50, `updates were lost (final ${final} of 50): the documented default`)
})

test('concurrency: reject needs a storage with compareAndWrite', async (t) => {
  const plain = { read: async () => null, write: async () => {}, invalidate: async () => {} }
  let code: string | undefined
  try {
    cookieSession('X', Counter(), { storage: plain, concurrency: 'reject' })
  } catch (error) {
    code = (error as { code?: string }).code
  }
  t.equal(code, 'FST_SESSIONS_OPTIONS')
})
