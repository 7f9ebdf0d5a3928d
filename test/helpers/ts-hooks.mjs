// The module hooks behind ts-loader.mjs (they run on Node's loader thread).
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

// What tsconfig.json says that changes the emitted JavaScript.
const tsconfigRaw = { compilerOptions: { target: 'ES2022', useDefineForClassFields: true, verbatimModuleSyntax: true } }

// Transpiled files are kept by a hash of their source and path: about 90 test processes import
// the same ~80 files, and asking esbuild for each took ~0.4 s of every process's start (a read
// from the cache takes a few milliseconds). A write goes to a temporary name first, so a process
// beside this one never reads half a file.
const CACHE = fileURLToPath(new URL('../../node_modules/.cache/ts-loader/', import.meta.url))
// Another esbuild, or other options below, make other files.
const VERSION = JSON.parse(readFileSync(new URL('../../node_modules/esbuild/package.json', import.meta.url), 'utf8')).version + ':1'
let esbuild

const isTypeScript = (url) => url.startsWith('file:') && /\.[cm]?ts$/.test(new URL(url).pathname) && !url.includes('/node_modules/')

// A path to `x.js` names `x.ts` when there is no x.js (TypeScript's NodeNext rule), whether a .ts
// file imports it or tap's mockImport does (with a query after the path).
const JS_PATH = /\.([cm]?)js(\?.*)?$/
const isPath = (specifier) => /^(?:\.{0,2}\/|file:)/.test(specifier) && !specifier.includes('/node_modules/')

export async function resolve (specifier, context, next) {
  try {
    return await next(specifier, context)
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !isPath(specifier) || !JS_PATH.test(specifier)) throw error
    return await next(specifier.replace(JS_PATH, '.$1ts$2'), context)
  }
}

async function transpile (path, source, commonjs) {
  esbuild ??= await import('esbuild')
  const { code } = await esbuild.transform(source, {
    loader: 'ts',
    format: commonjs ? 'cjs' : 'esm',
    target: 'node20',
    sourcemap: 'inline',
    sourcefile: path,
    tsconfigRaw,
  })
  return code
}

export async function load (url, context, next) {
  if (!isTypeScript(url)) return next(url, context)
  const path = fileURLToPath(url)
  const commonjs = path.endsWith('.cts')
  const source = await readFile(path, 'utf8')
  const cached = join(CACHE, createHash('sha1').update(VERSION).update('\0').update(path).update('\0').update(source).digest('hex') + '.js')
  let code
  try {
    code = readFileSync(cached, 'utf8')
  } catch {
    code = await transpile(path, source, commonjs)
    try {
      mkdirSync(CACHE, { recursive: true })
      const temporary = `${cached}.${process.pid}.${Math.random().toString(36).slice(2)}`
      writeFileSync(temporary, code)
      renameSync(temporary, cached)
    } catch {}
  }
  return { format: commonjs ? 'commonjs' : 'module', source: code, shortCircuit: true }
}
