#!/usr/bin/env node
// Runs `npm ci` only when node_modules does not match package-lock.json, so `npm start` and
// `npm test` work on a fresh clone and cost a few milliseconds otherwise. Plain Node, no
// dependencies: it must run before any are installed. `--check` only reports (exit 1: stale).
//
// The check reads npm's own record of what it installed (node_modules/.package-lock.json) and
// compares every locked package's version with it, and looks for each package's folder on disk.
// Optional packages for another platform (npm skips them) are not required.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

/** Why node_modules needs an install, or null when it matches the lockfile. */
export function staleReason (root = ROOT) {
  const lockFile = join(root, 'package-lock.json')
  if (!existsSync(lockFile)) return 'package-lock.json is missing'
  const installedFile = join(root, 'node_modules', '.package-lock.json')
  if (!existsSync(installedFile)) return 'node_modules is missing'
  let locked, installed
  try {
    locked = JSON.parse(readFileSync(lockFile, 'utf8')).packages ?? {}
    installed = JSON.parse(readFileSync(installedFile, 'utf8')).packages ?? {}
  } catch (err) {
    return `a lockfile cannot be read (${err.message})`
  }
  for (const [path, entry] of Object.entries(locked)) {
    if (!path.startsWith('node_modules/') || entry.link === true) continue
    const have = installed[path]
    if (have === undefined) {
      if (entry.optional === true || entry.devOptional === true) continue
      return `${path.slice('node_modules/'.length)} is not installed`
    }
    if (have.version !== entry.version) {
      return `${path.slice('node_modules/'.length)} is ${have.version}, the lockfile wants ${entry.version}`
    }
    if (!existsSync(join(root, path, 'package.json'))) return `${path.slice('node_modules/'.length)} was removed`
  }
  return null
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const reason = staleReason()
  if (process.argv.includes('--check')) {
    // Report only: exit 1 with the reason when an install is needed.
    console.log(reason ?? 'node_modules matches package-lock.json')
    process.exit(reason === null ? 0 : 1)
  }
  if (reason !== null) {
    console.log(`ensure-deps: ${reason}; installing with npm ci ...`)
    const started = Date.now()
    const npm = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: ROOT, stdio: 'inherit', shell: process.platform === 'win32' })
    if (npm.status !== 0) {
      console.error(`ensure-deps: npm ci failed (${npm.error?.message ?? `exit code ${npm.status}`})`)
      process.exit(npm.status ?? 1)
    }
    console.log(`ensure-deps: installed in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  }
}
