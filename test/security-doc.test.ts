// SECURITY.md cannot rot: every test it cites exists, by file and exact name, every line it calls
// met or partly met cites at least one test, and every line of its ASVS part carries an ASVS 5.0 id.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'tap'

const root = join(import.meta.dirname, '..')
const doc = readFileSync(join(root, 'SECURITY.md'), 'utf8')

/** A citation: `test/<file>.test.ts` → `<exact test name>`. */
const CITATION = /`(test\/[\w.-]+\.test\.ts)` → `([^`]+)`/g
const STATUS = /^\*\*(Met|Partly met|Not met|Not applicable)\.\*\*/m

/** Reads the JavaScript string literal that starts at `from` (at its quote); null for templates with `${`. */
function readLiteral (source: string, from: number): string | null {
  const quote = source[from]
  let out = ''
  for (let i = from + 1; i < source.length; i++) {
    const c = source[i] as string
    if (c === quote) return out
    if (quote === '`' && c === '$' && source[i + 1] === '{') return null
    if (c !== '\\') {
      out += c
      continue
    }
    const next = source[++i] as string
    switch (next) {
      case 'n': out += '\n'; break
      case 't': out += '\t'; break
      case 'r': out += '\r'; break
      case '0': out += '\0'; break
      case 'x': out += String.fromCharCode(parseInt(source.slice(i + 1, i + 3), 16)); i += 2; break
      case 'u':
        if (source[i + 1] === '{') {
          const end = source.indexOf('}', i)
          out += String.fromCodePoint(parseInt(source.slice(i + 2, end), 16))
          i = end
        } else {
          out += String.fromCharCode(parseInt(source.slice(i + 1, i + 5), 16))
          i += 4
        }
        break
      case '\n': break
      default: out += next
    }
  }
  return null
}

/** The names of the tests a file declares with a literal name (test('…'), t.test('…'), …), with how many declare each. */
function testNames (source: string): Map<string, number> {
  const names = new Map<string, number>()
  for (const match of source.matchAll(/\b(?:test|browserTest)\(\s*(?=['"`])/g)) {
    const name = readLiteral(source, (match.index as number) + match[0].length)
    if (name !== null) names.set(name, (names.get(name) ?? 0) + 1)
  }
  return names
}

/** A line whose proof another change of the release brings: `- TODO(core): …`. */
const PENDING = /^- TODO\(core\): .+/gm

test('the name reader handles escapes, every quote, and skips templates with substitutions', async (t) => {
  const source = "test('Ktor\\'s order', a)\nt.test(\"a \\\"b\\\"\", b)\n  await t.test(`plain`, c)\ntest(`$" + "{x} dynamic`, d)\ntest(name, e)\ntest('\\u00e9\\x41', f)"
  t.same([...testNames(source).keys()], ["Ktor's order", 'a "b"', 'plain', '\u00e9A'])
})

test('every test SECURITY.md cites exists, in the file it names, under that exact name', async (t) => {
  const citations = [...doc.matchAll(CITATION)].map((m) => [m[1] as string, m[2] as string] as const)
  t.ok(citations.length >= 40, `SECURITY.md cites tests (${citations.length})`)
  const cache = new Map<string, Map<string, number> | null>()
  const missing: string[] = []
  for (const [file, name] of citations) {
    if (!cache.has(file)) {
      const path = join(root, file)
      cache.set(file, existsSync(path) ? testNames(readFileSync(path, 'utf8')) : null)
    }
    const names = cache.get(file)
    if (names === null || names === undefined) missing.push(`${file} does not exist`)
    else if (!names.has(name)) missing.push(`${file} has no test named "${name}"`)
    else if ((names.get(name) as number) > 1) missing.push(`${file} has ${names.get(name) as number} tests named "${name}": the citation is ambiguous`)
  }
  t.same(missing, [], 'no citation is stale or ambiguous')
})

test('the ASVS part maps to ASVS 5.0: every line starts with its own 5.0 requirement id', async (t) => {
  t.notMatch(doc, /ASVS 4\./, 'no ASVS 4.x reference is left')
  const parts = doc.split(/^## /m).filter((part) => part.startsWith('ASVS 5.0 '))
  t.ok(parts.length >= 4, `ASVS 5.0 chapters (${parts.length})`)
  const ids = new Set<string>()
  const problems: string[] = []
  for (const part of parts) {
    for (const section of part.split(/^### /m).slice(1)) {
      const title = section.split('\n')[0] as string
      // ASVS 5.0 has 17 chapters: V<chapter>.<section>.<requirement>.
      const id = /^V(1[0-7]|[1-9])\.\d{1,2}\.\d{1,2} /.exec(title)?.[0].trim()
      if (id === undefined) problems.push(`"${title}" does not start with an ASVS 5.0 id`)
      else if (ids.has(id)) problems.push(`${id} has two lines`)
      else ids.add(id)
    }
  }
  t.same(problems, [])
  t.ok(ids.size >= 40, `requirements mapped (${ids.size})`)
  for (const id of ['V7.2.4', 'V7.3.1', 'V7.3.2', 'V7.4.1', 'V9.1.1', 'V9.2.1', 'V3.3.1', 'V3.3.4', 'V11.3.3', 'V14.3.2', 'V16.2.5']) {
    t.ok(ids.has(id), `${id} is mapped`)
  }
})

test('lines waiting for another change are marked TODO(core) in one form, and counted', async (t) => {
  const pending = [...doc.matchAll(PENDING)].map((m) => m[0])
  // Any other TODO (the introduction names the marker in backquotes).
  const loose = [...doc.matchAll(/TODO(?!\(core\)`)/g)].length
  t.equal(loose, pending.length, 'every TODO is a "- TODO(core): …" line')
  t.comment(`${pending.length} lines wait for core`)
})

test('every checklist line states its status, and every line met or partly met cites a test', async (t) => {
  const sections = doc.split(/^### /m).slice(1)
  t.ok(sections.length >= 40, `SECURITY.md has checklist lines (${sections.length})`)
  const problems: string[] = []
  for (const section of sections) {
    const title = section.split('\n')[0] as string
    const status = STATUS.exec(section)?.[1]
    if (status === undefined) {
      problems.push(`"${title}" states no status`)
      continue
    }
    // A TODO(core) line stands for proof another change brings; it does not replace a test of ours.
    const cited = [...section.matchAll(CITATION)].length
    if ((status === 'Met' || status === 'Partly met') && cited === 0) problems.push(`"${title}" is ${status.toLowerCase()} but cites no test`)
  }
  t.same(problems, [])
})

test('SECURITY.md tells how to report a vulnerability and how to run the long fuzz', async (t) => {
  t.match(doc, /^## Reporting a vulnerability$/m)
  t.match(doc, /FUZZ_RUNS=\d+/)
  t.match(doc, /FUZZ_SEED=/)
})
