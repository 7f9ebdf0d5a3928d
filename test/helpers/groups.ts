// Test files that share a subject run in one process: `npm test`'s tap skips the files whose names
// start with a prefix below (.taprc's include leaves them out), and test/groups/<name>.ts imports
// them one after the other. Each file keeps its name and its place, and still runs on its own with
// `npx tap test/<file>.test.ts`; a process saved is ~2 s of CPU (tap, Fastify and the sources
// loaded through the loader). test/suite-layout.test.ts checks that every file runs exactly once.
import { readdirSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'

/** The name of each group (its file in test/groups/) and the prefix of the files it runs. */
export const GROUPS = {
  compat: 'compat-',
  ktor: 'ktor-',
  security: 'security-',
  transformer: 'transformer-',
  'user-sessions': 'user-sessions',
} as const

const TEST = fileURLToPath(new URL('..', import.meta.url))

/** The test files of a group, in name order. */
export function groupFiles (prefix: string): string[] {
  return readdirSync(TEST).filter((name) => name.startsWith(prefix) && name.endsWith('.test.ts')).sort()
}

/** Imports (runs) the test files of a group in name order, each after the previous one loaded. */
export async function runGroup (prefix: string): Promise<void> {
  for (const name of groupFiles(prefix)) await import(pathToFileURL(`${TEST}${name}`).href)
}
