// ARCHITECTURE.md is the map of the code: it must name every source file a newcomer may open.
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'tap'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

function sources (dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.tst.ts') ? [relative('.', path)] : []
  })
}

test('ARCHITECTURE.md names every source file under lib/, storages/, transformers/ and testing/', async (t) => {
  const map = readFileSync(join(ROOT, 'ARCHITECTURE.md'), 'utf8')
  const files = ['lib', 'storages', 'transformers', 'testing'].flatMap(sources)
  t.ok(files.length > 40, `found the sources (${files.length})`)
  // A file is named by its path from the root, or by its name under its folder's heading line.
  const missing = files.filter((file) => !map.includes(file) && !map.includes('`' + file.split('/').pop() + '`'))
  t.same(missing, [], 'every source file is named')
})
