import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import { test } from 'tap'
import Type from 'typebox'
import sessions, { cookieSession, type SessionStorage } from '../lib/index.js'
import { cookiesOf } from './helpers/app.js'
import { compileFixtures } from './helpers/compile.js'
import { untracedEnv } from './helpers/child-env.js'

const SERVER = fileURLToPath(new URL('./fixtures/double-send-server.ts', import.meta.url))
const CHILD_ENV = untracedEnv()

test('a handler that sends and also returns a value, around a session change, does not kill the process', async (t) => {
  const server = (await compileFixtures(t, [SERVER]))(SERVER)
  const child = spawn(process.execPath, [server], { stdio: ['ignore', 'pipe', 'pipe'], env: CHILD_ENV })
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  let exit: [number | null, NodeJS.Signals | null] | undefined
  exited.then((value) => { exit = value }, () => {})
  t.teardown(async () => {
    if (exit === undefined) {
      child.kill('SIGKILL')
      await exited
    }
  })
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
      const match = /port (\d+)/.exec(stdout)
      if (match !== null) resolve(Number(match[1]))
    })
    exited.then(([code]) => reject(new Error(`the server exited early (${code}): ${stderr}`)))
  })
  const base = `http://127.0.0.1:${port}`
  // Each response may be cut short by the double send; what matters is what follows.
  const attempt = async (path: string, cookie = ''): Promise<Response | null> =>
    fetch(base + path, { headers: cookie === '' ? {} : { cookie } }).then((response) => response, () => null)

  const first = await attempt('/server')
  const cookie = cookiesOf(first?.headers.getSetCookie())
  t.match(cookie, /^SERVER=/, 'the response that went out carries the session cookie')
  t.equal(await first?.text(), 'a', 'the first send is the response')
  for (const path of ['/server', '/server-clear', '/client', '/failing', '/read', '/passport']) {
    await attempt(path, cookie)
    // A crash from a promise callback happens a turn or two after the response.
    await sleep(20)
    t.equal(exit, undefined, `${path}: the process is alive`)
    const next = await attempt('/ok', cookie)
    t.equal(next?.status, 200, `${path}: the next request is served`)
  }
  t.same(await (await attempt('/ok', cookie))?.json(), { n: null }, 'the session was cleared by /server-clear')
  t.notMatch(stderr, /ERR_HTTP_HEADERS_SENT|Unhandled|uncaught/i, 'nothing unhandled was reported')
  t.match(stdout, /Reply was already sent/, 'Fastify\'s usual warning is logged')
})

test('a storage whose close() throws does not keep the others open, and app.close() still resolves', async (t) => {
  const closed: string[] = []
  const base = { read: async () => null, write: async () => {}, invalidate: async () => {} }
  const broken: SessionStorage = { ...base, close: () => { throw new Error('close failed at once') } }
  const late: SessionStorage = { ...base, close: async () => { throw new Error('close failed later') } }
  const fine: SessionStorage = { ...base, close: async () => { closed.push('fine') } }
  const Payload = Type.Object({ n: Type.Integer() })
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'error', stream: { write: (line: string) => { lines.push(line) } } } })
  await app.register(sessions, {
    providers: [
      cookieSession('A', Payload, { storage: broken }),
      cookieSession('B', Type.Object({ n: Type.Integer() }), { storage: late }),
      cookieSession('C', Type.Object({ n: Type.Integer() }), { storage: fine }),
    ],
  })
  await app.ready()
  await app.close()
  t.same(closed, ['fine'], 'the third storage was closed')
  t.equal(lines.filter((line) => line.includes('session storage failed to close')).length, 2, 'both failures are logged')
})
