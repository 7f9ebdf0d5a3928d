// One quick round of the benchmark, so it cannot rot: `node dist/bench/run.js --smoke` starts
// each smoke scenario's server in its own process and checks that it answers 200 with the
// expected session behaviour, before and after a short load. Correctness only: timings are not
// tests. It runs the compiled bench (a server under the TypeScript loader takes seconds to
// start), building first when dist/ is missing or older than the sources.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'tap'

const root = fileURLToPath(new URL('..', import.meta.url))

function stale (): boolean {
  for (const dir of ['lib', 'storages', 'transformers', 'bench']) {
    for (const file of readdirSync(join(root, dir))) {
      if (!file.endsWith('.ts') || file.endsWith('.d.ts')) continue
      const built = join(root, 'dist', dir, file.replace(/\.ts$/, '.js'))
      if (!existsSync(built) || statSync(built).mtimeMs < statSync(join(root, dir, file)).mtimeMs) return true
    }
  }
  return false
}

test('the benchmark harness runs its smoke round', { timeout: 120_000 }, async (t) => {
  if (stale()) {
    t.comment('dist/ is missing or older than the sources: building')
    const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' })
    t.equal(build.status, 0, 'the build succeeds: ' + build.stdout)
  }
  const run = spawnSync(process.execPath, [join(root, 'dist/bench/run.js'), '--smoke'], { cwd: root, encoding: 'utf8', timeout: 90_000 })
  t.equal(run.status, 0, 'the smoke round passes: ' + run.stderr)
  const line = run.stdout.split('\n').find((l) => l.startsWith('smoke: ok')) ?? ''
  for (const id of ['bare', 'none', 'mac-read', 'mac-counter', 'handwritten-counter', 'secure-session-counter']) {
    t.match(line, new RegExp(`\\b${id}\\b`), `${id} was checked`)
  }
})
