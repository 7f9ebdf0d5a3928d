// One scenario's server, in its own process: `server.js <scenario id>`, with the environment in
// BENCH_ENV (JSON). Prints one JSON line when listening ({ port }) or when the scenario cannot be
// built ({ unavailable }), then serves until its parent disconnects or sends SIGTERM.
// Over IPC it answers 'cpu' with its CPU time so far, and { mint: n } with n session cookies from
// its own /prime (through inject): a cold scenario's cookies come from such another process;
// 'profile' starts a CPU profile (BENCH_PROFILE, see run.ts), written when the server stops.
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { scenarios, Unavailable, type Environment } from './scenarios.js'

async function mint (fastify: FastifyInstance, count: number): Promise<string[]> {
  const cookies: string[] = []
  for (let i = 0; i < count; i++) {
    const response = await fastify.inject({ method: 'GET', url: '/prime' })
    const header = response.headers['set-cookie']
    const lines = header === undefined ? [] : Array.isArray(header) ? header : [header]
    cookies.push(lines.map((line) => line.split(';', 1)[0] as string).join('; '))
  }
  return cookies
}

// BENCH_PROFILE: the CPU profile of the measured rounds only (from 'profile' to the stop), so
// start-up and warm-up stay out of it.
let profiler: Session | null = null
let profiled = 0

async function startProfile (fastify: FastifyInstance): Promise<void> {
  // Counted on the HTTP server, so the app's own hooks stay as they are measured.
  fastify.server.on('request', () => { profiled++ })
  profiler = new Session()
  profiler.connect()
  await profiler.post('Profiler.enable')
  await profiler.post('Profiler.start')
}

async function writeProfile (): Promise<void> {
  const dir = process.env['BENCH_PROFILE']
  if (profiler === null || dir === undefined) return
  const { profile } = await profiler.post('Profiler.stop')
  // The request count rides along (DevTools ignores the extra field): bench/profile.ts divides by it.
  writeFileSync(join(dir, `${id}.cpuprofile`), JSON.stringify({ ...profile, requests: profiled }))
}

const id = process.argv[2]
const scenario = scenarios.find((s) => s.id === id)
if (scenario === undefined) throw new Error(`unknown scenario "${id}"`)
const env = JSON.parse(process.env['BENCH_ENV'] ?? '{}') as Environment

try {
  const fastify = await scenario.build(env)
  await fastify.listen({ host: '127.0.0.1', port: 0 })
  const address = fastify.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  // Stopped once, whatever asks again meanwhile: a second SIGTERM with no listener would kill the
  // process before it exits by itself (and before its BENCH_PROFILE profile is written).
  let stopping = false
  const stop = (): void => {
    if (stopping) return
    stopping = true
    writeProfile().then(() => fastify.close()).then(() => process.exit(0), () => process.exit(1))
  }
  process.on('SIGTERM', stop)
  process.once('disconnect', stop)
  // CPU time is what the bench divides by the requests served: steadier than req/s on a busy machine.
  process.on('message', (message: 'cpu' | 'profile' | { mint: number }) => {
    if (message === 'cpu') process.send?.({ cpu: process.cpuUsage() })
    else if (message === 'profile') startProfile(fastify).catch((error: unknown) => { throw error })
    else mint(fastify, message.mint).then((cookies) => process.send?.({ cookies }), (error: unknown) => { throw error })
  })
  process.stdout.write(JSON.stringify({ port }) + '\n')
} catch (error) {
  if (!(error instanceof Unavailable)) throw error
  process.stdout.write(JSON.stringify({ unavailable: error.message }) + '\n')
  process.exit(0)
}
