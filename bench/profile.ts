// `node build/bench/profile.js <dir> [top]`: reads the CPU profiles a `BENCH_PROFILE=<dir>` run
// wrote (one per scenario) and prints, for each, where its busy time went: by package (ours,
// fastify, ioredis, node:crypto, the rest of Node, garbage collection) and the functions with the
// most self time. Idle time is left out, so shares are of the time the server was working.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

interface Frame { functionName: string, url: string, lineNumber: number }
interface Profile { nodes: Array<{ id: number, callFrame: Frame }>, samples: number[], timeDeltas: number[], requests?: number }

const OURS = /\/(lib|storages|transformers)\//

/** The package a frame belongs to: its node_modules name, ours, or a kind of Node's own. */
function where (frame: Frame): string {
  if (frame.functionName === '(garbage collector)') return 'garbage collection'
  if (frame.functionName === '(program)' || frame.url === '') return 'V8 and native (program)'
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url)
  if (match !== null) return match[1] as string
  if (OURS.test(frame.url)) return 'fastify-sessions'
  if (frame.url.startsWith('node:crypto') || frame.url.includes('internal/crypto')) return 'node:crypto'
  return 'node (other)'
}

function summarize (file: string, top: number): string {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]))
  const self = new Map<string, number>()
  const byPackage = new Map<string, number>()
  let busy = 0
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id) as Frame
    if (frame.functionName === '(idle)') return
    const dt = profile.timeDeltas[i] ?? 0
    busy += dt
    const name = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`
    self.set(name, (self.get(name) ?? 0) + dt)
    const pkg = where(frame)
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + dt)
  })
  const requests = profile.requests ?? 0
  // Sampled time (µs) as a share of the busy time and, when the server counted its requests, per request.
  const share = (t: number): string => `${(100 * t / busy).toFixed(1).padStart(5)}%` + (requests > 0 ? ` ${(t / requests).toFixed(2).padStart(7)} µs/req` : '')
  const rank = (map: Map<string, number>, n: number): string[] =>
    [...map].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, t]) => `  ${share(t)}  ${name}`)
  const perRequest = requests > 0 ? `, ${requests} requests, ${(busy / requests).toFixed(1)} µs busy per request (profiler included)` : ''
  return [`${file}: ${(busy / 1e6).toFixed(1)} s busy${perRequest}`, ' by package:', ...rank(byPackage, 10), ' by function (self time):', ...rank(self, top)].join('\n')
}

const [dir, count] = process.argv.slice(2)
if (dir === undefined) {
  console.error('usage: node build/bench/profile.js <dir of .cpuprofile files> [top functions, default 25]')
  process.exit(2)
}
for (const name of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()) {
  console.log(summarize(join(dir, name), Number(count ?? 25)) + '\n')
}
