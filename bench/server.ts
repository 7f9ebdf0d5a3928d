// One scenario's server, in its own process: `server.js <scenario id>`, with the environment in
// BENCH_ENV (JSON). Prints one JSON line when listening ({ port }) or when the scenario cannot be
// built ({ unavailable }), then serves until its parent disconnects or sends SIGTERM.
// Over IPC it answers 'cpu' with its CPU time so far, and { mint: n } with n session cookies from
// its own /prime (through inject): a cold scenario's cookies come from such another process.
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

const id = process.argv[2]
const scenario = scenarios.find((s) => s.id === id)
if (scenario === undefined) throw new Error(`unknown scenario "${id}"`)
const env = JSON.parse(process.env['BENCH_ENV'] ?? '{}') as Environment

try {
  const fastify = await scenario.build(env)
  await fastify.listen({ host: '127.0.0.1', port: 0 })
  const address = fastify.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const stop = (): void => { fastify.close().then(() => process.exit(0), () => process.exit(1)) }
  process.once('SIGTERM', stop)
  process.once('disconnect', stop)
  // CPU time is what the bench divides by the requests served: steadier than req/s on a busy machine.
  process.on('message', (message: 'cpu' | { mint: number }) => {
    if (message === 'cpu') process.send?.({ cpu: process.cpuUsage() })
    else mint(fastify, message.mint).then((cookies) => process.send?.({ cookies }), (error: unknown) => { throw error })
  })
  process.stdout.write(JSON.stringify({ port }) + '\n')
} catch (error) {
  if (!(error instanceof Unavailable)) throw error
  process.stdout.write(JSON.stringify({ unavailable: error.message }) + '\n')
  process.exit(0)
}
