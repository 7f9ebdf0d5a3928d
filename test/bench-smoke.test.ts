// One quick round of the benchmark, so it cannot rot: `node build/bench/run.js --smoke` starts
// each smoke scenario's server in its own process and checks that it answers 200 with the
// expected session behaviour, before and after a short load. Correctness only: timings are not
// tests. It runs the compiled bench (a server under the TypeScript loader takes seconds to
// start), through scripts/run-built.mjs, which compiles build/ first when a source is newer.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'tap'
import { untracedEnv } from './helpers/child-env.js'

const root = fileURLToPath(new URL('..', import.meta.url))

test('the benchmark harness runs its smoke round', { timeout: 120_000 }, async (t) => {
  const run = spawnSync(process.execPath, [join(root, 'scripts/run-built.mjs'), 'bench/run.js', '--smoke'], { cwd: root, encoding: 'utf8', timeout: 90_000, env: untracedEnv() })
  t.equal(run.status, 0, 'the smoke round passes: ' + run.stderr)
  const line = run.stdout.split('\n').find((l) => l.startsWith('smoke: ok')) ?? ''
  for (const id of ['bare', 'none', 'mac-read', 'mac-counter', 'handwritten-counter', 'secure-session-counter']) {
    t.match(line, new RegExp(`\\b${id}\\b`), `${id} was checked`)
  }
})
