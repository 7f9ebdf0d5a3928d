// `npm start`: the demo on http://localhost:3000 (PORT and HOST to change).
import { buildDemo } from './app.js'
import { KEY_VARIABLES, loadKeys } from './keys.js'

const port = Number(process.env['PORT'] ?? 3000)
const host = process.env['HOST'] ?? 'localhost'
const redisUrl = process.env['REDIS_URL']

const keys = loadKeys()
if (keys.generated.length > 0) {
  console.warn(`
  !! Development keys: ${keys.generated.join(' and ')} ${keys.generated.length === 1 ? 'is' : 'are'} not set, so random keys were made now.
  !! The signed cart and the encrypted preferences will not survive a restart.
  !! For real use, set them to 32 random bytes in hex, for example:
  !!   export ${KEY_VARIABLES.mac}=$(node -e "console.log(require('crypto').randomBytes(32).toString('hex'))")
  !!   export ${KEY_VARIABLES.enc}=$(node -e "console.log(require('crypto').randomBytes(32).toString('hex'))")
`)
}

const app = await buildDemo({ keys, redisUrl, logger: { level: process.env['LOG_LEVEL'] ?? 'info' } })

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.close().then(() => process.exit(0), (err: unknown) => {
      console.error(err)
      process.exit(1)
    })
  })
}

await app.listen({ port, host })
console.log(`fastify-sessions demo: http://${host === '0.0.0.0' || host === '::' ? 'localhost' : host}:${port}/  (sessions: ${redisUrl ? 'Redis' : '.sessions/'})`)
