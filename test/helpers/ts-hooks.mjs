// The module hooks behind ts-loader.mjs (they run on Node's loader thread).
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { transform } from 'esbuild'

// What tsconfig.json says that changes the emitted JavaScript.
const tsconfigRaw = { compilerOptions: { target: 'ES2022', useDefineForClassFields: true, verbatimModuleSyntax: true } }

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

export async function load (url, context, next) {
  if (!isTypeScript(url)) return next(url, context)
  const path = fileURLToPath(url)
  const commonjs = path.endsWith('.cts')
  const { code } = await transform(await readFile(path, 'utf8'), {
    loader: 'ts',
    format: commonjs ? 'cjs' : 'esm',
    target: 'node20',
    sourcemap: 'inline',
    sourcefile: path,
    tsconfigRaw,
  })
  return { format: commonjs ? 'commonjs' : 'module', source: code, shortCircuit: true }
}
