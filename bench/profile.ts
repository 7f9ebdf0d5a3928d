// `node build/bench/profile.js <dir> [top]`: reads the CPU profiles a `BENCH_PROFILE=<dir>` run
// wrote (one per scenario) and prints, for each, where its busy time went: by part (our code, the
// peer's packages, fastify, ioredis, node:crypto, the native socket writes and HTTP parsing,
// garbage collection) and the functions with the most self time, in µs per request when the
// server counted its requests. Idle time is left out.
// `node build/bench/profile.js <dir> --table id,id,...`: the parts side by side, as a Markdown table.
import { readdirSync, readFileSync } from 'node:fs'
import { basename, join } from 'node:path'

interface Frame { functionName: string, url: string, lineNumber: number }
interface Profile { nodes: Array<{ id: number, callFrame: Frame }>, samples: number[], timeDeltas: number[], requests?: number }

interface Summary {
  id: string
  busy: number
  requests: number
  parts: Map<string, number>
  functions: Map<string, number>
}

const OURS = /\/(lib|storages|transformers)\//
// Native frames (no script) by what they do.
const NATIVE: Readonly<Record<string, string>> = {
  writev: 'socket writes (native)',
  writeUtf8String: 'socket writes (native)',
  writeBuffer: 'socket writes (native)',
  dispatch: 'HTTP parsing (native llhttp)',
  '(garbage collector)': 'garbage collection',
  '(program)': 'V8 (program)',
}
const CRYPTO_NATIVE = new Set(['oneShotDigest', 'init', 'digest', 'update', 'final', 'Hmac', 'Hash', 'initiv', 'CipherBase', 'setAAD', 'getAuthTag', 'hash'])

/** What a frame's time is counted under. */
function partOf (frame: Frame): string {
  if (frame.url === '') return NATIVE[frame.functionName] ?? (CRYPTO_NATIVE.has(frame.functionName) ? 'crypto (native)' : 'other native')
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url)
  if (match !== null) return match[1] as string
  if (OURS.test(frame.url)) return 'fastify-sessions'
  if (frame.url.includes('/bench/')) return 'hand-written floor (bench/scenarios.ts)'
  if (frame.url.startsWith('node:crypto') || frame.url.includes('internal/crypto')) return 'node:crypto'
  return 'node (other)'
}

function summarize (file: string): Summary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]))
  const functions = new Map<string, number>()
  const parts = new Map<string, number>()
  let busy = 0
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id) as Frame
    if (frame.functionName === '(idle)') return
    const dt = profile.timeDeltas[i] ?? 0
    busy += dt
    const name = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`
    functions.set(name, (functions.get(name) ?? 0) + dt)
    const part = partOf(frame)
    parts.set(part, (parts.get(part) ?? 0) + dt)
  })
  return { id: basename(file, '.cpuprofile'), busy, requests: profile.requests ?? 0, parts, functions }
}

/** Sampled µs as a share of the busy time and, when the requests were counted, per request. */
function amount (s: Summary, t: number): string {
  return `${(100 * t / s.busy).toFixed(1).padStart(5)}%` + (s.requests > 0 ? ` ${(t / s.requests).toFixed(2).padStart(7)} µs/req` : '')
}

function report (s: Summary, top: number): string {
  const rank = (map: Map<string, number>, n: number): string[] =>
    [...map].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, t]) => `  ${amount(s, t)}  ${name}`)
  const perRequest = s.requests > 0 ? `, ${s.requests} requests, ${(s.busy / s.requests).toFixed(1)} µs busy per request (profiler included)` : ''
  return [`${s.id}: ${(s.busy / 1e6).toFixed(1)} s busy${perRequest}`, ' by part:', ...rank(s.parts, 12), ' by function (self time):', ...rank(s.functions, top)].join('\n')
}

/** The parts of each scenario in µs per request, one column each, the larger parts first. */
function table (summaries: readonly Summary[]): string {
  const per = (s: Summary, t: number | undefined): string => t === undefined || s.requests === 0 ? '' : (t / s.requests).toFixed(1)
  const largest = new Map<string, number>()
  for (const s of summaries) for (const [part, t] of s.parts) largest.set(part, Math.max(largest.get(part) ?? 0, s.requests > 0 ? t / s.requests : 0))
  const rows = [...largest].filter(([, t]) => t >= 0.3).sort((a, b) => b[1] - a[1]).map(([part]) => part)
  return [
    `| µs per request | ${summaries.map((s) => s.id).join(' | ')} |`,
    `|---|${summaries.map(() => '---:').join('|')}|`,
    `| busy (main thread) | ${summaries.map((s) => per(s, s.busy)).join(' | ')} |`,
    ...rows.map((part) => `| ${part} | ${summaries.map((s) => per(s, s.parts.get(part))).join(' | ')} |`),
  ].join('\n')
}

const [dir, option, ids] = process.argv.slice(2)
if (dir === undefined) {
  console.error('usage: node build/bench/profile.js <dir> [top functions, default 25] | <dir> --table id,id,...')
  process.exit(2)
}
const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort()
if (option === '--table') {
  const wanted = ids === undefined ? files.map((f) => basename(f, '.cpuprofile')) : ids.split(',')
  console.log(table(wanted.map((id) => summarize(join(dir, `${id}.cpuprofile`)))))
} else {
  for (const file of files) console.log(report(summarize(join(dir, file)), Number(option ?? 25)) + '\n')
}
