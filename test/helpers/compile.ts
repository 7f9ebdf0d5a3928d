// Child-process fixtures run as plain JavaScript: a child started through a TypeScript loader
// starts slower than a compiled one. compileFixtures bundles each given TypeScript entry file with
// the project files it imports (esbuild, transpile only: `npm run typecheck` checks the sources;
// packages stay imports) into a fresh folder under node_modules/.cache, inside the project so that
// packages resolve, and removes it at teardown. Compiling from the sources each time, rather than
// running dist/, means a child never runs code older than the test.
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CACHE = join(ROOT, 'node_modules', '.cache', 'fastify-sessions-fixtures')

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
  await build({
    entryPoints: entries.map((entry) => resolve(entry)),
    outdir: out,
    outbase: ROOT,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
    tsconfigRaw: { compilerOptions: { target: 'ES2022', useDefineForClassFields: true, verbatimModuleSyntax: true } },
  })
  return (entry) => join(out, relative(ROOT, resolve(entry))).replace(/\.ts$/, '.js')
}
