// Installs the dependencies when node_modules does not match package-lock.json, and does nothing
// (in a few milliseconds) when it does: the first step of `npm test` and `npm start`, so that a
// fresh clone needs no install by hand. Plain Node with no dependency, since it runs before any
// is installed.
//
// The check compares package-lock.json with node_modules/.package-lock.json, the record npm
// writes of what it installed: the same packages at the same versions (an optional package of
// another platform may be absent), and package.json's dependency ranges as the lockfile saw them.
// A mismatch runs `npm ci`, which also refuses a lockfile that package.json has outgrown.
// `--check` only reports: it prints the reason (or that all matches) and exits 1 when stale.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

function readJson (path) {
  try {
    return JSON.parse(readFileSync(join(root, path), 'utf8'))
  } catch {
    return undefined
  }
}

const FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies']

/** Why node_modules does not match the lockfile, or `undefined` when it does. */
function mismatch (manifest, lock, installed) {
  if (lock?.packages === undefined) return 'package-lock.json is missing or unreadable'
  if (installed?.packages === undefined) return 'node_modules is not installed'
  const declared = lock.packages[''] ?? {}
  for (const field of FIELDS) {
    if (JSON.stringify(manifest?.[field] ?? {}) !== JSON.stringify(declared[field] ?? {})) return `package.json's ${field} differ from package-lock.json's`
  }
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || !path.includes('node_modules/')) continue
    const have = installed.packages[path]
    if (have === undefined && entry.optional === true) continue
    if (have === undefined) return `${path} is missing`
    if (have.version !== entry.version) return `${path} is ${have.version}, the lockfile says ${entry.version}`
  }
  for (const path of Object.keys(installed.packages)) {
    if (lock.packages[path] === undefined) return `${path} is not in the lockfile`
  }
  return undefined
}

function npm (args) {
  // Under `npm run`, npm_execpath is the npm that runs us; run the same one.
  const cli = process.env.npm_execpath
  const [command, argv] = cli !== undefined && /\.[cm]?js$/.test(cli) ? [process.execPath, [cli, ...args]] : ['npm', args]
  return spawnSync(command, argv, { cwd: root, stdio: 'inherit', shell: command === 'npm' && process.platform === 'win32' })
}

const reason = mismatch(readJson('package.json'), readJson('package-lock.json'), readJson('node_modules/.package-lock.json'))
if (process.argv.includes('--check')) {
  console.log(reason ?? 'node_modules matches package-lock.json')
  process.exit(reason === undefined ? 0 : 1)
}
if (reason !== undefined) {
  console.error(`ensure-deps: ${reason}; running npm ci`)
  const run = npm(['ci', '--no-audit', '--no-fund'])
  if (run.status !== 0) {
    console.error(`ensure-deps: npm ci failed${run.error === undefined ? '' : `: ${run.error.message}`}`)
    process.exit(run.status ?? 1)
  }
}
