// scripts/ensure-deps.mjs, the first step of `npm test`: run in a folder laid out like a clone,
// with a stand-in for npm (through npm_execpath, as `npm run` sets it) that records its arguments.
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test, type Test } from 'tap'
import { UNTRACED } from '../helpers/child-env.js'

const SCRIPT = fileURLToPath(new URL('../../scripts/ensure-deps.mjs', import.meta.url))
const FAKE_NPM = `import { appendFileSync } from 'node:fs'
appendFileSync(new URL('./npm-calls.txt', import.meta.url), process.argv.slice(2).join(' ') + '\\n')
process.exit(Number(process.env.FAKE_NPM_EXIT ?? 0))
`

const manifest = { name: 'app', version: '1.0.0', dependencies: { a: '^1.0.0' }, devDependencies: { b: '^2.0.0' } }
const lock = {
  name: 'app',
  version: '1.0.0',
  lockfileVersion: 3,
  packages: {
    '': { name: 'app', version: '1.0.0', dependencies: { a: '^1.0.0' }, devDependencies: { b: '^2.0.0' } },
    'node_modules/a': { version: '1.2.0' },
    'node_modules/b': { version: '2.0.1', dev: true },
    'node_modules/b/node_modules/c': { version: '3.0.0', dev: true },
    'node_modules/@esbuild/win32-x64': { version: '0.28.2', dev: true, optional: true },
  },
}
type Packages = Record<string, { version: string }>
const installedAsLocked: Packages = Object.fromEntries(Object.entries(lock.packages).filter(([path]) => path !== '' && !path.includes('win32')))

/** A clone-like folder; `installed` is node_modules/.package-lock.json's packages, or none. */
function clone (t: Test, installed?: Packages, pkg: object = manifest): string {
  const root = t.testdir()
  mkdirSync(join(root, 'scripts'))
  copyFileSync(SCRIPT, join(root, 'scripts', 'ensure-deps.mjs'))
  writeFileSync(join(root, 'fake-npm.mjs'), FAKE_NPM)
  writeFileSync(join(root, 'package.json'), JSON.stringify(pkg))
  writeFileSync(join(root, 'package-lock.json'), JSON.stringify(lock))
  if (installed !== undefined) {
    mkdirSync(join(root, 'node_modules'))
    writeFileSync(join(root, 'node_modules', '.package-lock.json'), JSON.stringify({ ...lock, packages: installed }))
  }
  return root
}

function ensure (root: string, exit = 0): { status: number | null, stderr: string, npm: string[] } {
  const run = spawnSync(process.execPath, [join(root, 'scripts', 'ensure-deps.mjs')], {
    cwd: root,
    encoding: 'utf8',
    env: { PATH: process.env['PATH'], npm_execpath: join(root, 'fake-npm.mjs'), FAKE_NPM_EXIT: String(exit), ...UNTRACED },
  })
  const calls = join(root, 'npm-calls.txt')
  return { status: run.status, stderr: run.stderr, npm: existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : [] }
}

test('a clone without node_modules runs npm ci first', async (t) => {
  const run = ensure(clone(t))
  t.equal(run.status, 0)
  t.same(run.npm, ['ci --no-audit --no-fund'])
  t.match(run.stderr, 'node_modules is not installed; running npm ci')
})

test('node_modules that matches the lockfile is left alone, silently', async (t) => {
  const run = ensure(clone(t, installedAsLocked))
  t.equal(run.status, 0)
  t.same(run.npm, [], 'no npm call')
  t.equal(run.stderr, '')
})

test('a package at another version than the lockfile\'s, a missing one or an extra one runs npm ci', async (t) => {
  for (const [what, installed, reason] of [
    ['another version', { ...installedAsLocked, 'node_modules/a': { version: '1.1.0' } }, 'node_modules/a is 1.1.0, the lockfile says 1.2.0'],
    ['a missing one', Object.fromEntries(Object.entries(installedAsLocked).filter(([path]) => !path.endsWith('/c'))), 'node_modules/b/node_modules/c is missing'],
    ['an extra one', { ...installedAsLocked, 'node_modules/d': { version: '1.0.0' } }, 'node_modules/d is not in the lockfile'],
  ] as const) {
    const run = ensure(clone(t, installed))
    t.same(run.npm, ['ci --no-audit --no-fund'], what)
    t.match(run.stderr, reason, what)
  }
})

test('an optional package of another platform may be absent', async (t) => {
  t.same(ensure(clone(t, installedAsLocked)).npm, [])
})

test('dependencies in package.json that the lockfile has not seen run npm ci (which then refuses the stale lockfile)', async (t) => {
  const run = ensure(clone(t, installedAsLocked, { ...manifest, dependencies: { a: '^1.0.0', e: '^1.0.0' } }))
  t.same(run.npm, ['ci --no-audit --no-fund'])
  t.match(run.stderr, 'package.json\'s dependencies differ from package-lock.json\'s')
})

test('a failed npm ci fails the step with its exit code', async (t) => {
  const run = ensure(clone(t), 3)
  t.equal(run.status, 3)
  t.match(run.stderr, 'npm ci failed')
})

test('this clone\'s node_modules matches its lockfile', async (t) => {
  const root = fileURLToPath(new URL('../..', import.meta.url))
  const run = spawnSync(process.execPath, [SCRIPT], { cwd: root, encoding: 'utf8', env: { PATH: process.env['PATH'], npm_execpath: join(root, 'no-such-npm.mjs'), ...UNTRACED } })
  t.equal(run.status, 0)
  t.equal(run.stderr, '', 'nothing to install')
})
