// Every ```ts block of README.md is compiled, and every runnable one is run, so none can go stale.
//
// Conventions in README.md:
//   ```ts            a runnable module: type-checked, then imported (in a temporary folder as the
//                    working directory). When it exports `app`, the `<!-- test: ... -->` comments
//                    that follow the block are injected into it in order, then it is closed.
//   ```ts fragment   type-checked only, after a prelude that declares the names fragments use
//                    without defining them (app, login, cart, LoginSession, ...).
//   <!-- test: METHOD /url [json body] => STATUS [/regex/] -->   one request; cookies (and the
//                    headers named by `<!-- test-carry: Name -->`) carry over to the next ones.
// Imports of 'fastify-sessions' and 'fastify-sessions/testing' are pointed at the sources.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { test } from 'tap'
import ts from 'typescript'
import type { FastifyInstance } from 'fastify'
import { errorCodes } from '../lib/errors.js'
import { CookieOptionsSchema, CookieSessionOptionsSchema } from '../lib/provider-options.js'
import { rawCookieValues } from './helpers/app.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const README = readFileSync(join(ROOT, 'README.md'), 'utf8')
const WORK = join(ROOT, 'test-output', `readme-${process.pid}`)

interface Request { method: string, url: string, body: unknown, status: number, pattern: RegExp | null, source: string }
interface Block { index: number, line: number, fragment: boolean, code: string, requests: Request[], carry: string[] }

function parseRequest (source: string): Request {
  const match = /^(GET|POST|PUT|PATCH|DELETE)\s+(\S+)(?:\s+(\{.*\}))?\s*=>\s*(\d{3})(?:\s+\/(.*)\/([a-z]*))?$/.exec(source.trim())
  if (match === null) throw new Error(`README test directive not understood: ${source}`)
  return {
    method: match[1] as string,
    url: match[2] as string,
    body: match[3] === undefined ? undefined : JSON.parse(match[3]),
    status: Number(match[4]),
    pattern: match[5] === undefined ? null : new RegExp(match[5], match[6]),
    source: source.trim(),
  }
}

function extract (markdown: string): Block[] {
  const blocks: Block[] = []
  const lines = markdown.split('\n')
  let current: Block | null = null
  let body: string[] = []
  let last: Block | null = null
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string
    if (current !== null) {
      if (line.startsWith('```')) {
        current.code = body.join('\n') + '\n'
        blocks.push(current)
        last = current
        current = null
      } else {
        body.push(line)
      }
      continue
    }
    const fence = /^```(ts|typescript)(?:\s+(\w+))?\s*$/.exec(line)
    if (fence !== null) {
      current = { index: blocks.length + 1, line: i + 1, fragment: fence[2] === 'fragment', code: '', requests: [], carry: [] }
      body = []
      continue
    }
    if (line.startsWith('```')) {
      // Another language's block: skip it whole.
      while (++i < lines.length && !(lines[i] as string).startsWith('```'));
      last = null
      continue
    }
    const directive = /^<!--\s*test(-carry)?:\s*(.*?)\s*-->$/.exec(line.trim())
    if (directive !== null) {
      if (last === null) throw new Error(`README line ${i + 1}: a test directive must follow a ts block`)
      if (directive[1] === undefined) last.requests.push(parseRequest(directive[2] as string))
      else last.carry.push((directive[2] as string).toLowerCase())
    } else if (line.trim() !== '' && last !== null && last.requests.length > 0) {
      last = null
    }
  }
  return blocks
}

// Names fragments may use without defining them.
const PRELUDE: Array<[string, string]> = [
  ['Fastify', "import Fastify from 'fastify'"],
  ['Type', "import Type from 'typebox'"],
  ['LoginSession', 'declare const LoginSession: __TObject<{ username: __TString, count: __TInteger }>'],
  ['Cart', 'declare const Cart: __TObject<{ items: __TArray<__TString> }>'],
  ['app', 'declare const app: __FastifyInstance'],
  ['login', 'declare const login: __SessionProvider<{ username: string, count: number }>'],
  ['cart', 'declare const cart: __SessionProvider<{ items: string[] }>'],
  ['key', 'declare const key: Buffer'],
  ['storage', 'declare const storage: __SessionStorage'],
  ['mapStorage', 'declare function mapStorage (): __SessionStorage'],
]

/** True when the block defines or imports `name` itself. */
function declares (code: string, name: string): boolean {
  if (new RegExp(`\\b(?:const|let|var|function|class|type|interface)\\s+${name}\\b`).test(code)) return true
  for (const match of code.matchAll(/^import\s+(?:type\s+)?([\s\S]*?)\s+from\s+['"]/gm)) {
    if (new RegExp(`\\b${name}\\b`).test(match[1] as string)) return true
  }
  return false
}

function prelude (code: string): string {
  const head = [
    "import type { FastifyInstance as __FastifyInstance } from 'fastify'",
    "import type { TObject as __TObject, TString as __TString, TInteger as __TInteger, TArray as __TArray } from 'typebox'",
    "import type { SessionProvider as __SessionProvider, SessionStorage as __SessionStorage } from 'fastify-sessions'",
  ]
  for (const [name, declaration] of PRELUDE) {
    if (!declares(code, name) && new RegExp(`\\b${name}\\b`).test(code)) head.push(declaration)
  }
  return head.join('\n') + '\n'
}

function pointImports (code: string): string {
  return code
    .replaceAll("from 'fastify-sessions/testing'", "from '../../testing/index.js'")
    .replaceAll("from 'fastify-sessions'", "from '../../lib/index.js'")
}

function fileOf (block: Block): string {
  return join(WORK, `block-${String(block.index).padStart(2, '0')}-line-${block.line}.ts`)
}

const blocks = extract(README)

test('README.md has ts blocks to check', async (t) => {
  t.ok(blocks.length >= 10, `${blocks.length} blocks`)
  t.ok(blocks.some((b) => !b.fragment && b.requests.length > 0), 'some blocks are run with requests')
})

test('every ts block of README.md type-checks', async (t) => {
  rmSync(WORK, { recursive: true, force: true })
  mkdirSync(WORK, { recursive: true })
  t.teardown(() => rmSync(WORK, { recursive: true, force: true }))
  const files = blocks.map((block) => {
    const file = fileOf(block)
    const code = block.fragment ? prelude(block.code) + block.code + '\nexport {}\n' : block.code
    writeFileSync(file, pointImports(code))
    return file
  })
  const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, 'tsconfig.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')) },
  })
  if (config === undefined) throw new Error('tsconfig.json could not be read')
  // Fragments may leave values unused: that is not what is checked here.
  const program = ts.createProgram(files, { ...config.options, noEmit: true, noUnusedLocals: false })
  for (const [i, file] of files.entries()) {
    const source = program.getSourceFile(file)
    const block = blocks[i] as Block
    const diagnostics = source === undefined
      ? []
      : [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
    const messages = diagnostics.map((d) => {
      const where = d.file !== undefined && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0
      return `block line ${where}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`
    })
    t.same(messages, [], `README block ${block.index} (line ${block.line}${block.fragment ? ', fragment' : ''}) compiles`)
  }
  // The runnable blocks are imported only once all have compiled, in their own folder.
  const runnable = blocks.filter((b) => !b.fragment)
  const cwd = process.cwd()
  const run = join(WORK, 'cwd')
  mkdirSync(run, { recursive: true })
  process.chdir(run)
  t.teardown(() => process.chdir(cwd))
  process.env['SESSION_KEY'] ??= '11'.repeat(32)
  process.env['CART_KEY'] ??= '22'.repeat(32)
  process.env['ENC_KEY'] ??= '33'.repeat(32)
  process.env['OLD_SESSION_KEY'] ??= '44'.repeat(32)
  for (const block of runnable) {
    await t.test(`README block ${block.index} (line ${block.line}) runs`, async (t) => {
      const module = await import(pathToFileURL(fileOf(block)).href) as { app?: FastifyInstance }
      const app = module.app
      if (block.requests.length > 0) t.ok(app, 'a block with test requests exports app')
      if (app === undefined) return
      t.teardown(() => app.close())
      await app.ready()
      const cookies = new Map<string, string>()
      const carried = new Map<string, string>()
      for (const request of block.requests) {
        const headers: Record<string, string> = Object.fromEntries(carried)
        if (cookies.size > 0) headers['cookie'] = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ')
        const res = await app.inject({ method: request.method as 'GET', url: request.url, headers, ...(request.body === undefined ? {} : { payload: request.body as object }) })
        t.equal(res.statusCode, request.status, `${request.source}: status`)
        if (request.pattern !== null) t.match(res.body, request.pattern, `${request.source}: body`)
        // Sent back as received: raw values, not the decoded ones of res.cookies.
        const raw = rawCookieValues(res.headers['set-cookie'])
        for (const { name, maxAge } of res.cookies) {
          if (maxAge === 0) cookies.delete(name)
          else cookies.set(name, raw.get(name) ?? '')
        }
        for (const name of block.carry) {
          const value = res.headers[name]
          if (typeof value === 'string') {
            if (value === '') carried.delete(name)
            else carried.set(name, value)
          }
        }
      }
    })
  }
})

test('every error code of lib/errors.ts is in the README errors table with its status', async (t) => {
  const section = README.split(/^## Errors\s*$/m)[1] ?? ''
  const rows = new Map<string, number>()
  for (const match of section.matchAll(/^\|\s*`(FST_SESSIONS_[A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gm)) {
    rows.set(match[1] as string, Number(match[2]))
  }
  t.ok(rows.size > 0, 'the README has an errors table')
  for (const [code, ErrorClass] of Object.entries(errorCodes)) {
    const status = new ErrorClass('x', 'y').statusCode
    t.equal(rows.get(code), status, `${code} is documented with status ${status}`)
  }
  t.same([...rows.keys()].filter((code) => !(code in errorCodes)), [], 'no documented code is unknown to lib/errors.ts')
})

test('every provider and cookie option has its own README heading', async (t) => {
  const headings = new Set([...README.matchAll(/^#{3,4} `([\w.]+)`/gm)].map((m) => m[1]))
  for (const name of Object.keys(CookieSessionOptionsSchema.properties)) {
    t.ok(headings.has(name), `### \`${name}\``)
  }
  for (const name of Object.keys(CookieOptionsSchema.properties)) {
    t.ok(headings.has(`cookie.${name}`), `#### \`cookie.${name}\``)
  }
  for (const name of ['providers', 'onInvalid']) t.ok(headings.has(name), `### \`${name}\``)
})

test('the README keeps the two set-up commands', async (t) => {
  t.match(README, /npm start/)
  t.match(README, /npm test/)
  t.match(README, /## Benchmarks[\s\S]*npm run bench[\s\S]*bench\/results\.md/)
})
