// `node scripts/parallel.mjs a+b c d`: runs the npm scripts given at the same time, two at a time
// (the machines this project runs on have two cores; more where there are more), `a+b` as b after
// a succeeded; prints each one's output whole when it ends, and fails when any of them fails.
// `npm test` runs its independent checks through it.
import { spawn } from 'node:child_process'
import { availableParallelism } from 'node:os'

const names = process.argv.slice(2)
const width = Math.max(2, Math.min(availableParallelism(), 4))
const cli = process.env.npm_execpath

function run (name) {
  const [command, args] = cli !== undefined && /\.[cm]?js$/.test(cli) ? [process.execPath, [cli, 'run', '--silent', name]] : ['npm', ['run', '--silent', name]]
  return new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], shell: command === 'npm' && process.platform === 'win32' })
    const output = []
    child.stdout.on('data', (chunk) => output.push(chunk))
    child.stderr.on('data', (chunk) => output.push(chunk))
    child.on('error', (error) => output.push(Buffer.from(`${error.message}\n`)))
    child.on('close', (code) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(1)
      process.stdout.write(`\n> ${name}: ${code === 0 ? 'ok' : `FAILED (exit ${code})`} in ${seconds} s\n${Buffer.concat(output).toString()}`)
      resolve(code === 0)
    })
  })
}

const queue = [...names]
let failed = false
await Promise.all(Array.from({ length: Math.min(width, queue.length) }, async () => {
  for (let chain = queue.shift(); chain !== undefined; chain = queue.shift()) {
    for (const name of chain.split('+')) {
      if (!await run(name)) {
        failed = true
        break
      }
    }
  }
}))
if (failed) process.exit(1)
