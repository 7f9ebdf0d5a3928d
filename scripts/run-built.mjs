#!/usr/bin/env node
// `node scripts/run-built.mjs example/server.js [args]`: runs a compiled entry of the demo build
// (build/: the sources, the demo and the bench; never published), compiling first only when a
// source is newer than the last build. The compile is transpile only, file by file with esbuild
// (under a second; `tsc --noCheck` took 16 s on a loaded machine): `npm test` checks the types.
// A current build starts at once.
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const OUT = join(ROOT, 'build')
const STAMP = join(OUT, '.built-at')
const SOURCES = ['lib', 'storages', 'transformers', 'types', 'testing', 'example', 'bench']
const CONFIGS = ['tsconfig.json', 'package.json']

/** Why the build must run, or null when build/ is newer than every source. */
function staleReason () {
  if (!existsSync(STAMP)) return 'no build yet'
  const builtAt = Number(readFileSync(STAMP, 'utf8'))
  const mtime = (file) => statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0
  const newest = Math.max(...[...builtFrom(), ...CONFIGS.map((name) => join(ROOT, name))].map(mtime))
  return Number.isFinite(builtAt) && builtAt >= newest ? null : 'sources changed since the last build'
}

/** The .ts files under `path`, type tests and declarations left out. */
function sources (path) {
  const out = []
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const file = join(path, entry.name)
    if (entry.isDirectory()) out.push(...sources(file))
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && !entry.name.endsWith('.tst.ts')) out.push(file)
  }
  return out
}

/** What the build compiles: the .ts files of every source folder. */
function builtFrom () {
  return SOURCES.flatMap((dir) => existsSync(join(ROOT, dir)) ? sources(join(ROOT, dir)) : [])
}

async function transpile () {
  const { build } = await import('esbuild')
  rmSync(OUT, { recursive: true, force: true })
  await build({
    entryPoints: builtFrom(),
    outdir: OUT,
    outbase: ROOT,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  })
}

const [entry, ...args] = process.argv.slice(2)
if (entry === undefined) {
  console.error('usage: node scripts/run-built.mjs <entry.js under build/> [args...]')
  process.exit(2)
}

const reason = staleReason()
if (reason !== null) {
  // The stamp takes the time the build started: a source saved during the build is rebuilt next time.
  const started = Date.now()
  console.log(`building the demo into build/ (${reason}) ...`)
  try {
    await transpile()
  } catch (err) {
    console.error(`the build failed (${err instanceof Error ? err.message : String(err)})`)
    process.exit(1)
  }
  writeFileSync(STAMP, String(started))
  console.log(`built in ${((Date.now() - started) / 1000).toFixed(1)} s`)
}

// Run the entry in this process, as if it had been started directly.
const file = join(OUT, entry)
process.argv = [process.argv[0] ?? process.execPath, file, ...args]
await import(pathToFileURL(file).href)
