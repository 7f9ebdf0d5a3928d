// Runs the TypeScript tests under tap: `node --import=./test/helpers/ts-loader.mjs file.ts`.
// Each .ts file is transpiled on its own by esbuild (types are erased, not checked: `npm run
// typecheck` checks them), in a few milliseconds where ts-node took seconds per test process.
// The output is not minified and carries an inline source map, so that V8's coverage maps back to
// the TypeScript lines (tsx minifies whitespace, which collapses a file's coverage to a few lines).
import { register } from 'node:module'

register('./ts-hooks.mjs', import.meta.url)
