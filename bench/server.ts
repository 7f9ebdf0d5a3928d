// One scenario's server, in its own process: `server.js <scenario id>`, with the environment in
// BENCH_ENV (JSON). Prints one JSON line when listening ({ port }) or when the scenario cannot be
// built ({ unavailable }), then serves until its parent disconnects or sends SIGTERM.
import { scenarios, Unavailable, type Environment } from './scenarios.js'

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
  process.on('message', () => { process.send?.({ cpu: process.cpuUsage() }) })
  process.stdout.write(JSON.stringify({ port }) + '\n')
} catch (error) {
  if (!(error instanceof Unavailable)) throw error
  process.stdout.write(JSON.stringify({ unavailable: error.message }) + '\n')
  process.exit(0)
}
