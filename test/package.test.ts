// The package as users get it. The second test packs a copy of the sources with `npm pack`,
// installs the tarball into an empty folder outside the project, and uses it from ESM, CommonJS
// and TypeScript; publint and arethetypeswrong check the tarball. The copy keeps this checkout's
// dist/ untouched while other test files use it. `npm test` has just built dist/ (its build step),
// so the copy packs that dist/ when it is newer than every file it is built from, with prepack's
// build skipped (a second full tsc build cost ~15 s of CPU); otherwise the copy runs the build
// itself. That prepack is the build is checked on package.json.
import { execFile, execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { test } from 'tap'
import { untracedEnv } from './helpers/child-env.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const require = createRequire(import.meta.url)
const execFileAsync = promisify(execFile)
// Every child runs a tool or the built package: untraced (see helpers/child-env.ts).
const run = async (file: string, args: readonly string[], options: { cwd: string, maxBuffer?: number }): Promise<{ stdout: string, stderr: string }> =>
  await execFileAsync(file, args, { ...options, encoding: 'utf8', env: untracedEnv() })

function node (args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: untracedEnv() })
}

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number)
const requireEsm = major > 20 || (major === 20 && minor >= 19)

test('the built package can be imported and required by its name', async (t) => {
  if (!existsSync(new URL('../dist/lib/index.js', import.meta.url))) {
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'ignore', env: untracedEnv() })
  }
  const names = 'default,cookieSession,headerSession,memoryStorage,directoryStorage,redisStorage,cacheStorage,messageAuthentication,encrypt,ktorEncrypt,digest,hex,jsonSerializer,ktorSerializer,FST_SESSIONS_OPTIONS'
  const check = `const want = '${names}'.split(','); const missing = want.filter((n) => typeof m[n] !== 'function'); console.log(missing.join(',') || 'ok')`
  t.equal(node(['--input-type=module', '-e', `const m = await import('fastify-sessions'); ${check}`]).trim(), 'ok', 'import')
  if (requireEsm) {
    t.equal(node(['-e', `const m = require('fastify-sessions'); ${check}`]).trim(), 'ok', 'require')
  } else {
    t.comment(`require(esm) needs Node >= 20.19; this is ${process.versions.node}`)
  }
  t.equal(node(['--input-type=module', '-e', "const m = await import('fastify-sessions/testing'); console.log(Array.isArray(m.storageConformance) && Array.isArray(m.transformerConformance))"]).trim(), 'true', 'the conformance suites')
})

/** What `npm pack` needs of a checkout: the sources, the manifest, the build configuration. */
const PACKED_FROM = ['lib', 'storages', 'transformers', 'types', 'testing', 'package.json', 'README.md', 'LICENSE', 'tsconfig.json', 'tsconfig.build.json']
/** What `npm run build` reads (all that is packed but the README and LICENSE): a change to any of them makes dist/ stale. */
const BUILT_FROM = PACKED_FROM.filter((entry) => entry !== 'README.md' && entry !== 'LICENSE')

/** The modification times of `path` and, for a folder, of everything under it. */
function mtimes (path: string): number[] {
  const stat = statSync(path, { throwIfNoEntry: false })
  if (stat === undefined) return []
  if (!stat.isDirectory()) return [stat.mtimeMs]
  return [stat.mtimeMs, ...readdirSync(path).flatMap((entry) => mtimes(join(path, entry)))]
}

/** Whether this checkout's dist/ was built after the last change to anything it is built from. */
function distIsCurrent (): boolean {
  if (!existsSync(join(root, 'dist', 'lib', 'index.js'))) return false
  const built = mtimes(join(root, 'dist'))
  return Math.min(...built) > Math.max(...BUILT_FROM.flatMap((entry) => mtimes(join(root, entry))))
}

/** The file a package names as its command (their exports do not include it). */
function bin (name: string): string {
  const manifest = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { bin: string | Record<string, string> }
  const file = typeof manifest.bin === 'string' ? manifest.bin : Object.values(manifest.bin)[0] as string
  return join(root, 'node_modules', name, file)
}

/** The version this checkout locked, so the consumer installs what the tests ran against. */
function locked (name: string): string {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> }
  const entry = lock.packages[`node_modules/${name}`]
  if (entry === undefined) throw new Error(`${name} is not in package-lock.json`)
  return entry.version
}

// A consumer that runs the package: a cookie session round trip through a real Fastify app.
const CONSUMER_JS = (load: string): string => `${load}
const app = fastify()
const login = cookieSession('LOGIN_SESSION', Type.Object({ user: Type.String() }), { storage: memoryStorage() })
await app.register(sessions, { providers: [login] })
app.post('/login', async (request) => { request.sessions.set(login, { user: 'ada' }); return 'ok' })
app.get('/', async (request) => request.sessions.get(login)?.user ?? 'nobody')
const set = await app.inject({ method: 'POST', url: '/login' })
const seen = await app.inject({ url: '/', cookies: Object.fromEntries(set.cookies.map((c) => [c.name, c.value])) })
await app.close()
if (typeof storageConformance !== 'object' || storageConformance.length === 0) throw new Error('no conformance suite')
// sodium-native is an optional peer dependency, not installed here: only secretbox asks for it.
let sodium = 'loaded'
try { secretbox({ key: new Uint8Array(32) }) } catch (err) { sodium = err.code + (/npm install sodium-native/.test(err.message) ? ' says how to install it' : ' without a hint') }
try { fromSecureSession({ key: new Uint8Array(32), map: () => null }); sodium += ', fromSecureSession loaded' } catch (err) { if (err.code !== 'FST_SESSIONS_OPTIONS') sodium += ', fromSecureSession: ' + err.code }
console.log(seen.body + ' / ' + sodium)
`

const ESM = CONSUMER_JS(`import fastify from 'fastify'
import Type from 'typebox'
import sessions, { cookieSession, fromSecureSession, memoryStorage, secretbox } from 'fastify-sessions'
import { storageConformance } from 'fastify-sessions/testing'`)

// CommonJS has no top-level await: the same body inside an async function.
const CJS = `const fastify = require('fastify')
const Type = require('typebox').default
const { default: sessions, cookieSession, fromSecureSession, memoryStorage, secretbox } = require('fastify-sessions')
const { storageConformance } = require('fastify-sessions/testing')
;(async () => {
${CONSUMER_JS('').trim()}
})().catch((err) => { console.error(err); process.exit(1) })
`

// What a TypeScript user writes: types must resolve (an unresolved import would be an error) and
// be precise (the @ts-expect-error lines fail the check if a type were any).
const TS = `import Fastify from 'fastify'
import Type from 'typebox'
import sessions, { cookieSession, memoryStorage, type SessionStorage, type SessionProvider } from 'fastify-sessions'
import { storageConformance, type StorageConformanceCase } from 'fastify-sessions/testing'

const storage: SessionStorage = memoryStorage()
const login: SessionProvider<{ user: string }> = cookieSession('LOGIN_SESSION', Type.Object({ user: Type.String() }), { storage })
const app = Fastify()
await app.register(sessions, { providers: [login] })
app.get('/', async (request) => {
  const user: string | undefined = request.sessions.get(login)?.user
  // @ts-expect-error the payload's user is a string
  const wrong: number | undefined = request.sessions.get(login)?.user
  // @ts-expect-error set checks the payload's shape
  request.sessions.set(login, { user: 1 })
  return { user, wrong }
})
const cases: readonly StorageConformanceCase[] = storageConformance
export { app, cases }
`

// A CommonJS TypeScript file: with module nodenext (TypeScript 5.8+) its imports may be ES modules
// (require(esm)); the README's module formats note says so.
const CTS = `import { cookieSession, memoryStorage } from 'fastify-sessions'
import { storageConformance } from 'fastify-sessions/testing'
import Type from 'typebox'

const login = cookieSession('LOGIN_SESSION', Type.Object({ user: Type.String() }), { storage: memoryStorage() })
const count: number = storageConformance.length
// @ts-expect-error the suites are an array, not a string
const wrong: string = storageConformance
export = { login, count, wrong }
`

const WITHOUT_SODIUM = 'ada / FST_SESSIONS_OPTIONS says how to install it'

type Resolution = 'node16' | 'bundler' | 'nodenext'
const CONSUMERS: Record<Resolution, string> = { node16: 'consumer.ts', bundler: 'consumer.ts', nodenext: 'consumer.cts' }
const MODULES: Record<Resolution, string> = { node16: 'node16', bundler: 'esnext', nodenext: 'nodenext' }

const TSCONFIG = (moduleResolution: Resolution): string => JSON.stringify({
  compilerOptions: {
    module: MODULES[moduleResolution],
    moduleResolution,
    target: 'ES2022',
    strict: true,
    noEmit: true,
    // Checking every dependency's declarations costs a minute on a loaded machine and tests them,
    // not us; our imports resolving with precise types is what the consumer file checks.
    skipLibCheck: true,
    types: ['node'],
  },
  files: [CONSUMERS[moduleResolution]],
})

test('the packed tarball installs into an empty folder and works from ESM, CommonJS and TypeScript', { timeout: 300_000 }, async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'fastify-sessions-package-'))
  t.teardown(() => rmSync(work, { recursive: true, force: true }))

  // Pack a copy, with the dist/ that prepack builds: this checkout's when it is current, else built
  // in the copy from nothing.
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  t.equal(manifest.scripts['prepack'], 'npm run build', 'npm pack builds dist/ first (prepack)')
  t.match(manifest.scripts['build'], /rmSync\('dist'.*&& tsc -p tsconfig\.build\.json$/, 'the build starts from an empty dist/')
  const source = join(work, 'source')
  mkdirSync(source)
  for (const entry of PACKED_FROM) cpSync(join(root, entry), join(source, entry), { recursive: true })
  symlinkSync(join(root, 'node_modules'), join(source, 'node_modules'), 'dir')
  if (distIsCurrent()) {
    cpSync(join(root, 'dist'), join(source, 'dist'), { recursive: true })
    t.comment('packing the current dist/ of the checkout')
  } else {
    await run('npm', ['run', 'build'], { cwd: source, maxBuffer: 16 << 20 })
    t.comment('dist/ was missing or older than a source: built in the copy')
  }
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: source, maxBuffer: 16 << 20 })
  const [report] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string, files: Array<{ path: string }> }>
  t.ok(report, 'npm pack reported its tarball')
  const tarball = join(work, (report as { filename: string }).filename)
  const files = (report as { files: Array<{ path: string }> }).files.map((f) => f.path)

  t.ok(files.includes('LICENSE') && files.includes('README.md') && files.includes('package.json'), 'LICENSE, README and manifest')
  t.ok(files.includes('dist/lib/index.js') && files.includes('dist/lib/index.d.ts'), 'prepack built dist/')
  t.ok(files.includes('dist/testing/index.js') && files.includes('dist/testing/index.d.ts'), 'the testing entry point')
  t.same(files.filter((f) => !f.startsWith('dist/') && !['LICENSE', 'README.md', 'package.json'].includes(f)), [], 'nothing but dist/ and the three top files')
  t.same(files.filter((f) => /(^|\/)(test|bench|example)\//.test(f) || /\.test\.|\.tst\./.test(f)), [], 'no tests, bench or example')
  t.same(files.filter((f) => f.endsWith('.map')), [], 'no source maps (the sources are not shipped)')
  const js = files.filter((f) => f.endsWith('.js'))
  t.same(js.filter((f) => readFileSync(join(source, f), 'utf8').includes('sourceMappingURL')), [], 'no file points to a map')
  t.notOk(readdirSync(join(source, 'dist')).some((d) => d === 'example' || d === 'bench'), 'dist/ holds no demo or bench')
  t.equal(readFileSync(join(root, 'LICENSE'), 'utf8').split('\n')[0], 'MIT License')
  t.match(readFileSync(join(root, 'LICENSE'), 'utf8'), 'Copyright (c) 2026 fastify-sessions contributors')

  // publint and arethetypeswrong read the tarball itself (no network).
  const publint = await run(process.execPath, [bin('publint'), 'run', '--strict', tarball], { cwd: work })
  t.match(publint.stdout, /All good!/, 'publint is clean')
  const attw = await run(process.execPath, [bin('@arethetypeswrong/cli'), '--format', 'json', tarball], { cwd: work, maxBuffer: 16 << 20 })
    .catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '{}' }))
  const problems = (JSON.parse(attw.stdout) as { problems?: Record<string, Array<{ entrypoint: string, resolutionKind: string }>> }).problems ?? {}
  t.same(Object.keys(problems), ['CJSResolvesToESM'], 'the only attw finding is the one the README explains')
  t.same((problems['CJSResolvesToESM'] ?? []).map((p) => `${p.entrypoint} ${p.resolutionKind}`).sort(), ['. node16-cjs', './testing node16-cjs'])
  t.match(readFileSync(join(root, 'README.md'), 'utf8'), /CJSResolvesToESM/, 'the README explains it')

  // A fresh project installs the tarball with the versions this checkout tested.
  const consumer = join(work, 'consumer')
  mkdirSync(consumer)
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball,
    `fastify@${locked('fastify')}`, `typebox@${locked('typebox')}`, `@types/node@${locked('@types/node')}`], { cwd: consumer, maxBuffer: 16 << 20 })
  t.ok(existsSync(join(consumer, 'node_modules', 'fastify-sessions', 'dist', 'lib', 'index.js')), 'installed')
  t.notOk(existsSync(join(consumer, 'node_modules', 'sodium-native')), 'the optional peer sodium-native is not installed')

  writeFileSync(join(consumer, 'esm.mjs'), ESM)
  t.equal((await run(process.execPath, ['esm.mjs'], { cwd: consumer })).stdout.trim(), WITHOUT_SODIUM, 'ESM: a session round trip without sodium-native; secretbox alone refuses')
  writeFileSync(join(consumer, 'cjs.cjs'), CJS)
  if (requireEsm) {
    t.equal((await run(process.execPath, ['cjs.cjs'], { cwd: consumer })).stdout.trim(), WITHOUT_SODIUM, 'CommonJS: a session round trip without sodium-native')
  } else {
    t.comment(`require(esm) needs Node >= 20.19; this is ${process.versions.node}`)
  }

  writeFileSync(join(consumer, 'consumer.ts'), TS)
  writeFileSync(join(consumer, 'consumer.cts'), CTS)
  const tsc = require.resolve('typescript/bin/tsc')
  for (const resolution of ['node16', 'bundler', 'nodenext'] as const) {
    writeFileSync(join(consumer, `tsconfig.${resolution}.json`), TSCONFIG(resolution))
    const checked = await run(process.execPath, [tsc, '-p', `tsconfig.${resolution}.json`], { cwd: consumer })
      .then(() => '', (err: { stdout?: string }) => err.stdout ?? String(err))
    t.equal(checked, '', `TypeScript, moduleResolution ${resolution}: ${CONSUMERS[resolution]} type-checks`)
  }
})
