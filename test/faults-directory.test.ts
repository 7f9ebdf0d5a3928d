// Directory storage faults through the plugin: a file system that turns read-only, or fills up,
// answers 503 FST_SESSIONS_STORAGE_UNAVAILABLE (no cookie, never a false 2xx) while reads of
// existing sessions keep working, and the same app recovers once the disk is fixed. Every session
// acknowledged with a 2xx is read back at the end. (test/storage-directory.test.ts covers the
// storage alone.) Needs the right to mount a small tmpfs; skipped with a notice otherwise.
import { execFileSync } from 'node:child_process'
import { writeFileSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import Type from 'typebox'
import { cookieSession } from '../lib/index.js'
import { directoryStorage } from '../storages/directory.js'
import { buildApp, cookiesOf } from './helpers/app.js'
import { canMount, mountTmpfs } from './helpers/tmpfs.js'

const skip = canMount ? false : 'mounting a tmpfs is not permitted here (run as root, or with CAP_SYS_ADMIN): directory faults not tested'
if (skip !== false) {
  t.comment(`!!! ${skip} !!!`)
  // CI runs as root on a machine that can mount: there, a skip would hide a missing check.
  if (process.env['CI'] !== undefined) t.fail(`under CI the directory fault tests must run: ${skip}`)
}

async function sessionApp (t: Test, dir: string) {
  const login = cookieSession('LOGIN', Type.Object({ user: Type.String(), n: Type.Integer() }), {
    storage: directoryStorage(dir),
    concurrency: 'reject',
  })
  const app = await buildApp(t, [login])
  let users = 0
  app.post('/login', async (request) => { request.sessions.set(login, { user: `user ${users++}`, n: 0 }); return 'ok' })
  app.post('/inc', async (request) => {
    const s = request.sessions.get(login)
    if (s !== null) request.sessions.set(login, { ...s, n: s.n + 1 })
    return s
  })
  app.get('/me', async (request) => request.sessions.get(login))
  // Every session the app acknowledged with a 2xx, and what it holds.
  const acknowledged = new Map<string, { user: string, n: number }>()
  return {
    async login () {
      const response = await app.inject({ method: 'POST', url: '/login' })
      if (response.statusCode === 200) acknowledged.set(cookiesOf(response.headers['set-cookie']), { user: `user ${users - 1}`, n: 0 })
      return response
    },
    async inc (cookie: string) {
      const response = await app.inject({ method: 'POST', url: '/inc', headers: { cookie } })
      const before = acknowledged.get(cookie)
      if (response.statusCode === 200 && before !== undefined) acknowledged.set(cookie, { ...before, n: before.n + 1 })
      return response
    },
    me: (cookie: string) => app.inject({ url: '/me', headers: { cookie } }),
    acknowledged,
  }
}

function check503 (t: Test, response: { statusCode: number, headers: Record<string, unknown>, json (): { code?: string } }, what: string): void {
  t.equal(response.statusCode, 503, `${what}: 503`)
  t.equal(response.json().code, 'FST_SESSIONS_STORAGE_UNAVAILABLE', `${what}: FST_SESSIONS_STORAGE_UNAVAILABLE`)
  t.equal(response.headers['set-cookie'], undefined, `${what}: no cookie`)
}

async function everyAcknowledgedSessionReadsBack (t: Test, app: Awaited<ReturnType<typeof sessionApp>>): Promise<void> {
  const missing: string[] = []
  for (const [cookie, expected] of app.acknowledged) {
    const response = await app.me(cookie)
    if (response.statusCode !== 200 || JSON.stringify(response.json()) !== JSON.stringify(expected)) missing.push(`${expected.user}: ${response.body}`)
  }
  t.same(missing, [], `all ${app.acknowledged.size} sessions acknowledged with a 2xx read back as acknowledged`)
}

t.test('a directory that turns read-only answers 503 for writes, serves reads, and recovers when remounted read-write', { skip }, async (t) => {
  const mountPoint = mountTmpfs(t, '4m')
  const app = await sessionApp(t, join(mountPoint, 'sessions'))
  for (let i = 0; i < 20; i++) t.equal((await app.login()).statusCode, 200)
  const [first] = app.acknowledged.keys() as MapIterator<string>
  t.equal((await app.inc(first as string)).statusCode, 200)

  execFileSync('mount', ['-o', 'remount,ro', mountPoint], { stdio: 'ignore' })
  t.teardown(() => { try { execFileSync('mount', ['-o', 'remount,rw', mountPoint], { stdio: 'ignore' }) } catch {} })
  check503(t, await app.login(), 'a new session on a read-only disk')
  check503(t, await app.inc(first as string), 'a change of a session on a read-only disk')
  t.equal((await app.me(first as string)).json().n, 1, 'reads of existing sessions still work')

  execFileSync('mount', ['-o', 'remount,rw', mountPoint], { stdio: 'ignore' })
  t.equal((await app.login()).statusCode, 200, 'new sessions work again, without restarting the app')
  t.equal((await app.inc(first as string)).statusCode, 200, 'and so do changes')
  await everyAcknowledgedSessionReadsBack(t, app)
})

t.test('a full directory answers 503 for writes, serves reads, and recovers when space is freed', { skip }, async (t) => {
  const mountPoint = mountTmpfs(t, '256k')
  const app = await sessionApp(t, join(mountPoint, 'sessions'))
  for (let i = 0; i < 10; i++) t.equal((await app.login()).statusCode, 200)
  const [first] = app.acknowledged.keys() as MapIterator<string>

  // Fill what is left, a page at a time.
  const filler = join(mountPoint, 'filler')
  const page = Buffer.alloc(4096, 1)
  let pages = 0
  try {
    for (;;) { writeFileSync(filler, page, { flag: 'a' }); pages++ }
  } catch (err) {
    t.equal((err as NodeJS.ErrnoException).code, 'ENOSPC', `the disk is full after ${pages} more pages`)
  }
  check503(t, await app.login(), 'a new session on a full disk')
  check503(t, await app.inc(first as string), 'a change of a session on a full disk')
  t.equal((await app.me(first as string)).json().n, 0, 'reads of existing sessions still work')

  unlinkSync(filler)
  t.equal((await app.login()).statusCode, 200, 'new sessions work again once there is room, without restarting the app')
  t.equal((await app.inc(first as string)).statusCode, 200, 'and so do changes')
  await everyAcknowledgedSessionReadsBack(t, app)
})
