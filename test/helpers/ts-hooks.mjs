// The module hooks behind ts-loader.mjs (they run on Node's loader thread).
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { transform } from 'esbuild'

// What tsconfig.json says that changes the emitted JavaScript.
const tsconfigRaw = { compilerOptions: { target: 'ES2022', useDefineForClassFields: true, verbatimModuleSyntax: true } }

const isTypeScript = (url) => url.startsWith('file:') && /\.[cm]?ts$/.test(url) && !url.includes('/node_modules/')

/** `./x.js` written in a .ts file names `./x.ts` when there is no x.js (TypeScript's NodeNext rule). */
export async function resolve (specifier, context, next) {
  try {
    return await next(specifier, context)
  } catch (error) {
    const parent = context.parentURL
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || parent === undefined || !isTypeScript(parent) || !/\.[cm]?js$/.test(specifier)) throw error
    return await next(specifier.replace(/js$/, 'ts'), context)
  }
}

export async function load (url, context, next) {
  if (!isTypeScript(url)) return next(url, context)
  const path = fileURLToPath(url)
  const { code } = await transform(await readFile(path, 'utf8'), {
    loader: 'ts',
    format: url.endsWith('.cts') ? 'cjs' : 'esm',
    target: 'node20',
    sourcemap: 'inline',
    sourcefile: path,
    tsconfigRaw,
  })
  return { format: url.endsWith('.cts') ? 'commonjs' : 'module', source: code, shortCircuit: true }
}
