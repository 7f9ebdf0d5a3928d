// Every test file runs exactly once in `npm test`: on its own, in a group (test/helpers/groups.ts),
// or as a part that a subject's file imports (test/<subject>/*.ts). A file left out of all three
// would be skipped silently.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'tap'
import { GROUPS, groupFiles } from './helpers/groups.js'

const TEST = fileURLToPath(new URL('.', import.meta.url))
const NOT_PARTS = new Set(['helpers', 'fixtures', 'groups'])
const testFiles = readdirSync(TEST).filter((name) => name.endsWith('.test.ts'))

test(".taprc's include leaves out exactly the grouped files, and runs the group files", async (t) => {
  const taprc = readFileSync(join(TEST, '..', '.taprc'), 'utf8')
  const include = /^include:\n((?: {2}- .*\n)+)/m.exec(taprc)?.[1]?.split('\n').filter(Boolean).map((line) => line.slice(4))
  const prefixes = Object.values(GROUPS).map((prefix) => `${prefix}*`).join('|')
  t.same(include, [`test/**/!(${prefixes}).test.ts`, 'test/groups/*.ts'])
})

test('every group has its file, runs at least one test file, and no file is in two groups', async (t) => {
  const files = readdirSync(join(TEST, 'groups')).sort()
  t.same(files, Object.keys(GROUPS).map((name) => `${name}.ts`).sort(), 'one file per group')
  for (const [name, prefix] of Object.entries(GROUPS)) {
    t.match(readFileSync(join(TEST, 'groups', `${name}.ts`), 'utf8'), `await runGroup(GROUPS['${name}'])`, `${name} runs its own prefix`)
    t.ok(groupFiles(prefix).length > 0, `${name} has test files`)
  }
  const inTwo = testFiles.filter((name) => Object.values(GROUPS).filter((prefix) => name.startsWith(prefix)).length > 1)
  t.same(inTwo, [])
})

test("every part in a subject's folder is imported by exactly one test file", async (t) => {
  const imports = testFiles.flatMap((name) => [...readFileSync(join(TEST, name), 'utf8').matchAll(/^import '\.\/([\w-]+\/[\w-]+)\.js'$/gm)].map((m) => m[1] as string))
  const parts = readdirSync(TEST, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !NOT_PARTS.has(entry.name))
    .flatMap((dir) => readdirSync(join(TEST, dir.name)).filter((name) => name.endsWith('.ts')).map((name) => `${dir.name}/${name.slice(0, -3)}`))
  t.ok(parts.length > 0, 'there are parts')
  t.same(parts.filter((part) => imports.filter((i) => i === part).length !== 1), [], 'each imported once')
  t.same(imports.filter((i) => !parts.includes(i)), [], 'no import of a missing part')
})
