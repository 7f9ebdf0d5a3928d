// Directory storage faults through the plugin: a file system that turns read-only, or fills up,
// answers 503 FST_SESSIONS_STORAGE_UNAVAILABLE (no cookie, never a false 2xx) while reads of
// existing sessions keep working, and the same app recovers once the disk is fixed. Every session
// acknowledged with a 2xx is read back at the end. (test/storage-directory.test.ts covers the
// storage alone.) Needs the right to mount a small tmpfs; skipped with a notice otherwise.
import { execFileSync } from 'node:child_process'
import { writeFileSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { directoryStorage } from '../../storages/directory.js'
import { acknowledgingApp, check503, everyAcknowledgedSessionReadsBack, type AcknowledgingApp } from '../helpers/fault-app.js'
import { canMount, mountTmpfs } from '../helpers/tmpfs.js'

const skip = canMount ? false : 'mounting a tmpfs is not permitted here (run as root, or with CAP_SYS_ADMIN): directory faults not tested'
if (skip !== false) {
  t.comment(`!!! ${skip} !!!`)
  // CI runs as root on a machine that can mount: there, a skip would hide a missing check.
  if (process.env['CI'] !== undefined) t.fail(`under CI the directory fault tests must run: ${skip}`)
}

function sessionApp (t: Test, dir: string): Promise<AcknowledgingApp> {
  return acknowledgingApp(t, directoryStorage(dir))
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
