import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test, type Test } from 'tap'
import Type from 'typebox'
import { cookieSession } from '../lib/index.js'
import { directoryStorage, type DirectoryStorageOptions } from '../storages/directory.js'
import { memoryStorage } from '../storages/memory.js'
import type { SessionStorage } from '../storages/storage.js'
import type { LightMyRequestResponse } from 'fastify'
import { buildApp } from './helpers/app.js'

const Login = Type.Object({ username: Type.String(), count: Type.Integer() })

function tempDir (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'fss-server-side-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Every file and folder under `dir`, relative. */
function tree (dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()
}

/** An app with one server-side cookie session on `storage`: POST /login sets it, GET / shows it. */
async function loginApp (t: Test, storage: SessionStorage) {
  const login = cookieSession('LOGIN_SESSION', Login, { storage })
  const app = await buildApp(t, [login])
  app.post('/login', async (request) => {
    request.sessions.set(login, { username: 'John', count: 1 })
    return 'ok'
  })
  app.get('/', async (request) => ({ session: request.sessions.get(login) }))
  app.post('/regenerate', async (request) => {
    request.sessions.regenerate(login)
    return 'ok'
  })
  return app
}

function idOf (res: LightMyRequestResponse): string {
  const cookie = res.cookies.find((c) => c.name === 'LOGIN_SESSION')
  if (cookie === undefined) throw new Error('no LOGIN_SESSION cookie was set')
  return cookie.value
}

for (const options of [{}, { cached: true }] as DirectoryStorageOptions[]) {
  const label = options.cached === true ? ' (cached)' : ''

  test(`a restarted app on the same directory keeps its sessions${label}`, async (t) => {
    const dir = tempDir(t)
    const first = await loginApp(t, directoryStorage(dir, options))
    const login = await first.inject({ method: 'POST', url: '/login' })
    t.equal(login.statusCode, 200)
    const id = idOf(login)
    await first.close()

    const second = await loginApp(t, directoryStorage(dir, options))
    const res = await second.inject({ url: '/', headers: { cookie: `LOGIN_SESSION=${id}` } })
    t.equal(res.statusCode, 200)
    t.same(res.json(), { session: { username: 'John', count: 1 } })
  })
}

test('no file name or file content under the directory contains the session id', async (t) => {
  const dir = tempDir(t)
  const app = await loginApp(t, directoryStorage(dir))
  const ids: string[] = []
  for (let i = 0; i < 20; i++) {
    const res = await app.inject({ method: 'POST', url: '/login' })
    ids.push(idOf(res))
  }
  t.equal(new Set(ids).size, 20, 'twenty distinct ids')
  const paths = tree(dir)
  const files = paths.filter((path) => path.includes('/'))
  t.equal(files.length, 20, 'one record file per session')
  for (const id of ids) {
    t.notOk(paths.some((path) => path.includes(id)), 'the id is in no path')
    t.notOk(files.some((file) => readFileSync(join(dir, file), 'latin1').includes(id)), 'nor in any file')
  }
})

test('regenerate leaves one record on disk, under the new id only', async (t) => {
  const dir = tempDir(t)
  const app = await loginApp(t, directoryStorage(dir))
  const login = await app.inject({ method: 'POST', url: '/login' })
  const oldId = idOf(login)
  const res = await app.inject({ method: 'POST', url: '/regenerate', headers: { cookie: `LOGIN_SESSION=${oldId}` } })
  const newId = idOf(res)
  t.not(newId, oldId)
  t.equal(tree(dir).filter((path) => path.includes('/')).length, 1, 'the old record file is gone')
  const replay = await app.inject({ url: '/', headers: { cookie: `LOGIN_SESSION=${oldId}` } })
  t.same(replay.json(), { session: null }, 'the old id finds nothing')
  const fresh = await app.inject({ url: '/', headers: { cookie: `LOGIN_SESSION=${newId}` } })
  t.same(fresh.json(), { session: { username: 'John', count: 1 } })
})

test('1000 probes with random and hostile ids create no file and answer 200 with no session', async (t) => {
  const dir = tempDir(t)
  const app = await loginApp(t, directoryStorage(dir))
  await app.inject({ method: 'POST', url: '/login' })
  const before = tree(dir)
  const hostile = [
    '../', '../../', '../../../../etc/passwd', '/', '//', '\\', '..\\..\\', '\0', 'a\0b', '%00', '.', '..',
    '', ' ', 'x'.repeat(100_000), '../'.repeat(1000), randomBytes(32).toString('hex'),
  ]
  const probes: string[] = []
  for (let i = 0; i < 1000; i++) {
    probes.push(i < hostile.length
      ? hostile[i] as string
      : i % 3 === 0
        ? randomBytes(32).toString('base64url') // well-formed, unknown
        : i % 3 === 1
          ? '../' + randomBytes(1 + (i % 40)).toString('base64url')
          : randomBytes(1 + (i % 200)).toString('latin1'))
  }
  let failures = 0
  for (const probe of probes) {
    const res = await app.inject({ url: '/', headers: { cookie: `LOGIN_SESSION=${encodeURIComponent(probe)}` } })
    const body = res.statusCode === 200 ? res.json() : null
    if (res.statusCode !== 200 || body?.session !== null || res.headers['set-cookie'] !== undefined) {
      failures++
      t.fail(`probe ${JSON.stringify(probe.slice(0, 40))}: ${res.statusCode} ${res.body.slice(0, 100)}`)
    }
  }
  t.equal(failures, 0, 'every probe answered 200 with no session and no Set-Cookie')
  t.same(tree(dir), before, 'no file or folder was created')
})

test('a memory storage with maxEntries keeps only the most recent sessions through the plugin', async (t) => {
  const storage = memoryStorage({ maxEntries: 10 })
  const app = await loginApp(t, storage)
  const ids: string[] = []
  for (let i = 0; i < 50; i++) {
    ids.push(idOf(await app.inject({ method: 'POST', url: '/login' })))
  }
  t.equal(storage.size, 10)
  const oldest = await app.inject({ url: '/', headers: { cookie: `LOGIN_SESSION=${ids[0]}` } })
  t.same(oldest.json(), { session: null }, 'the least recently used session went out')
  const newest = await app.inject({ url: '/', headers: { cookie: `LOGIN_SESSION=${ids[49]}` } })
  t.same(newest.json(), { session: { username: 'John', count: 1 } })
})
