// `npm start` on a copy of the project in a temporary folder (so this checkout's build/ is left to
// the other tests): scripts/ensure-deps.mjs decides whether to install, scripts/run-built.mjs
// builds only when a source is newer than the last build, says so, and serves the demo.
import { spawn, spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test, type Test } from 'tap'
import { freePort } from '../helpers/redis.js'
import { untracedEnv } from '../helpers/child-env.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const COPIED = ['lib', 'storages', 'transformers', 'types', 'testing', 'example', 'bench', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json']

function copy (t: Test, withModules: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'fastify-sessions-start-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  for (const entry of COPIED) cpSync(join(root, entry), join(dir, entry), { recursive: true })
  if (withModules) symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir')
  return dir
}

/** Starts the demo as `npm start` does after ensure-deps, waits for its first page, stops it. */
async function start (t: Test, dir: string): Promise<{ output: string, status: number, body: string }> {
  const port = await freePort()
  const child = spawn(process.execPath, ['scripts/run-built.mjs', 'example/server.js'], {
    cwd: dir,
    env: untracedEnv({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', REDIS_URL: '' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = once(child, 'exit')
  t.teardown(() => { child.kill('SIGKILL') })
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString() })
  // The demo prints its address once it listens.
  while (!output.includes('fastify-sessions demo: http://')) {
    await Promise.race([once(child.stdout, 'data'), exited.then(() => { throw new Error(`the demo exited:\n${output}`) })])
  }
  const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { accept: 'text/html' } })
  const body = await res.text()
  child.kill('SIGTERM')
  await exited
  return { output, status: res.status, body }
}

test('npm start builds a fresh copy, says so, serves the demo; a second start skips the build', { timeout: 240_000 }, async (t) => {
  const dir = copy(t, true)
  const first = await start(t, dir)
  t.match(first.output, /building the demo into build\/ \(no build yet\)/, 'says it builds')
  t.match(first.output, /built in \d+\.\d s/)
  t.equal(first.status, 200)
  t.match(first.body, /<form method="post" action="\/login">/, 'the home page')
  t.match(first.output, /\(sessions: \.sessions\/\)/, 'on the directory storage')

  const second = await start(t, dir)
  t.notMatch(second.output, /building/, 'a current build is not redone')
  t.equal(second.status, 200)

  // A source saved after the build is newer than it: the next start builds again.
  const later = new Date(Date.now() + 5000)
  utimesSync(join(dir, 'example', 'html.ts'), later, later)
  const third = await start(t, dir)
  t.match(third.output, /building the demo into build\/ \(sources changed since the last build\)/)
  t.equal(third.status, 200)
})

test('ensure-deps asks for an install only when node_modules does not match the lockfile', async (t) => {
  const check = (dir: string): { status: number | null, out: string } => {
    const res = spawnSync(process.execPath, ['scripts/ensure-deps.mjs', '--check'], { cwd: dir, encoding: 'utf8', env: untracedEnv() })
    return { status: res.status, out: res.stdout.trim() }
  }
  t.same(check(root), { status: 0, out: 'node_modules matches package-lock.json' }, 'this checkout is installed')

  const bare = mkdtempSync(join(tmpdir(), 'fastify-sessions-deps-'))
  t.teardown(() => rmSync(bare, { recursive: true, force: true }))
  cpSync(join(root, 'scripts'), join(bare, 'scripts'), { recursive: true })
  cpSync(join(root, 'package.json'), join(bare, 'package.json'))
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> }
  writeFileSync(join(bare, 'package-lock.json'), JSON.stringify(lock))
  t.same(check(bare), { status: 1, out: 'node_modules is not installed' }, 'a fresh clone')

  symlinkSync(join(root, 'node_modules'), join(bare, 'node_modules'), 'dir')
  t.equal(check(bare).status, 0, 'the same lockfile, installed')

  const fastify = lock.packages['node_modules/fastify'] as { version: string }
  const installed = fastify.version
  fastify.version = '5.0.0-not-installed'
  writeFileSync(join(bare, 'package-lock.json'), JSON.stringify(lock))
  t.same(check(bare), { status: 1, out: `node_modules/fastify is ${installed}, the lockfile says 5.0.0-not-installed` }, 'a changed lockfile')

  fastify.version = installed
  lock.packages['node_modules/not-a-real-package-xyz'] = { version: '1.0.0' }
  writeFileSync(join(bare, 'package-lock.json'), JSON.stringify(lock))
  t.same(check(bare), { status: 1, out: 'node_modules/not-a-real-package-xyz is missing' }, 'a package added to the lockfile')
})
