// Child-process fixtures run as plain JavaScript: a child started through the TypeScript loader
// takes seconds to start, a compiled one about a hundred milliseconds. compileFixtures emits the
// given TypeScript entry files and everything they import (transpile only, `tsc --noCheck`: `npm
// run typecheck` checks the sources) into a fresh folder under node_modules/.cache, inside the
// project so that packages resolve, and removes it at teardown. Compiling from the sources each
// time, rather than running dist/, means a child never runs code older than the test.
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join, relative, resolve } from 'node:path'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CACHE = join(ROOT, 'node_modules', '.cache', 'fastify-sessions-fixtures')
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc')

/** The part of a tap `Test` this helper uses. */
export interface TestContext {
  teardown (fn: () => unknown): void
}

/**
 * Compiles `entries` (paths of .ts files) and resolves to a function that maps each entry to its
 * compiled .js file.
 */
export async function compileFixtures (t: TestContext, entries: string[]): Promise<(entry: string) => string> {
  await mkdir(CACHE, { recursive: true })
  const out = await mkdtemp(join(CACHE, 'build-'))
  t.teardown(() => rm(out, { recursive: true, force: true }))
  const config = join(out, 'tsconfig.json')
  await writeFile(config, JSON.stringify({
    extends: join(ROOT, 'tsconfig.json'),
    compilerOptions: { noEmit: false, noCheck: true, outDir: out, rootDir: ROOT, sourceMap: false, declaration: false },
    include: [],
    files: entries.map((entry) => resolve(entry)),
  }))
  try {
    await promisify(execFile)(process.execPath, [TSC, '-p', config], { cwd: ROOT, timeout: 60_000 })
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string, stderr?: string }
    throw new Error(`compiling ${entries.join(', ')} failed:\n${stdout ?? ''}${stderr ?? ''}`)
  }
  return (entry) => join(out, relative(ROOT, resolve(entry))).replace(/\.ts$/, '.js')
}
