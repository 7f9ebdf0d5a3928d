// `node scripts/parallel.mjs [--live=name] a+b c+d`: runs the npm scripts given at the same time,
// two at a time (the machines this project runs on have two cores; more where there are more),
// `a+b` as b after a succeeded; prints each one's output whole when it ends, and fails when any of
// them fails. The script named by --live prints as it goes instead, line by line (the others' whole
// outputs come between its lines), so that a long run shows its progress.
// `npm test` runs the test files beside the checks through it, so that no core waits for the
// checks' last step.
import { spawn } from 'node:child_process'
import { availableParallelism } from 'node:os'

const args = process.argv.slice(2)
const live = args.find((arg) => arg.startsWith('--live='))?.slice('--live='.length)
const names = args.filter((arg) => !arg.startsWith('--live='))
const width = Math.max(2, Math.min(availableParallelism(), 4))
const cli = process.env.npm_execpath

/** Writes a live script's output whole lines at a time, so that another's report never splits one. */
function lineWriter () {
  let pending = ''
  return {
    write (chunk) {
      const text = pending + chunk.toString()
      const end = text.lastIndexOf('\n') + 1
      pending = text.slice(end)
      if (end > 0) process.stdout.write(text.slice(0, end))
    },
    flush () {
      if (pending !== '') process.stdout.write(`${pending}\n`)
      pending = ''
    },
  }
}

function run (name) {
  const [command, argv] = cli !== undefined && /\.[cm]?js$/.test(cli) ? [process.execPath, [cli, 'run', '--silent', name]] : ['npm', ['run', '--silent', name]]
  return new Promise((resolve) => {
    const started = Date.now()
    const child = spawn(command, argv, { stdio: ['ignore', 'pipe', 'pipe'], shell: command === 'npm' && process.platform === 'win32' })
    const output = []
    const writer = name === live ? lineWriter() : { write: (chunk) => output.push(chunk), flush () {} }
    if (name === live) process.stdout.write(`\n> ${name}: started\n`)
    child.stdout.on('data', writer.write)
    child.stderr.on('data', writer.write)
    child.on('error', (error) => writer.write(Buffer.from(`${error.message}\n`)))
    child.on('close', (code) => {
      writer.flush()
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
