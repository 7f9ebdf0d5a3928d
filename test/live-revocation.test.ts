import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import websocket from '@fastify/websocket'
import WebSocket from 'ws'
import Type from 'typebox'
import { cookieSession, hex, memoryStorage, messageAuthentication, redisStorage, type SessionStorage } from '../lib/index.js'
import { buildApp, cookiesOf, KEY_HEX } from './helpers/app.js'
import { redisSkip, startRedis } from './helpers/redis.js'

// A WebSocket opened with a session learns that the session ended (logout, regenerate, a
// revocation): in one process through the provider's watchers, across processes through Redis
// pub/sub. The socket here closes itself with 4401 when told.

const User = () => Type.Object({ user: Type.String() })

async function liveApp (t: Test, storage: SessionStorage) {
  const login = cookieSession('LOGIN', User(), { storage, subject: (s) => s.user })
  const app = await buildApp(t, [login])
  await app.register(websocket)
  app.post('/login', async (request) => { request.sessions.set(login, { user: (request.query as { user: string }).user }); return 'ok' })
  app.post('/logout', async (request) => { request.sessions.clear(login); return 'ok' })
  app.post('/revoke-others', async (request) => { await request.sessions.revokeAll(login, { exceptCurrent: true }); return 'ok' })
  app.get('/live', { websocket: true }, (socket, request) => {
    if (request.sessions.get(login) === null) return socket.close(4401, 'no session')
    const stop = request.sessions.watch(login, () => socket.close(4401, 'session ended'))
    socket.on('close', stop)
    socket.send('hello')
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/live`
  const signIn = async (user: string) => cookiesOf((await app.inject({ method: 'POST', url: `/login?user=${user}` })).headers['set-cookie'])
  return { app, login, url, signIn }
}

/** Opens a socket with `cookie`; resolves once greeted, with a promise of its close code. */
async function open (url: string, cookie: string): Promise<{ socket: WebSocket, closed: Promise<number> }> {
  const socket = new WebSocket(url, { headers: { cookie } })
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)))
  await new Promise<void>((resolve, reject) => {
    socket.once('message', () => resolve())
    socket.once('error', reject)
    closed.then((code) => reject(new Error(`closed ${code} before the greeting`)), () => {})
  })
  return { socket, closed }
}

t.test('one process: a socket is told when its session is logged out elsewhere, or revoked', async (t) => {
  const { app, url, signIn } = await liveApp(t, memoryStorage())
  const phone = await signIn('ann')
  const laptop = await signIn('ann')
  const bob = await signIn('bob')
  const phoneLive = await open(url, phone)
  const bobLive = await open(url, bob)
  await app.inject({ method: 'POST', url: '/revoke-others', headers: { cookie: laptop } })
  t.equal(await phoneLive.closed, 4401, 'the phone\'s socket closed when "log out everywhere else" ended its session')
  t.equal(bobLive.socket.readyState, WebSocket.OPEN, 'another user\'s socket stays open')
  const laptopLive = await open(url, laptop)
  await app.inject({ method: 'POST', url: '/logout', headers: { cookie: laptop } })
  t.equal(await laptopLive.closed, 4401, 'a logout from another tab closes the socket too')
  bobLive.socket.close()
  await bobLive.closed
})

t.test('a client-side provider cannot be watched (options error)', async (t) => {
  const prefs = cookieSession('PREFS', User(), { transformers: [messageAuthentication({ key: hex(KEY_HEX) })] })
  const app = await buildApp(t, [prefs])
  app.get('/watch', async (request) => { request.sessions.watch(prefs, () => {}); return 'ok' })
  t.equal((await app.inject('/watch')).json().code, 'FST_SESSIONS_OPTIONS')
})

t.test('across processes: Redis pub/sub tells the other process\'s sockets', { skip: redisSkip(t) }, async (t) => {
  const server = await startRedis(t)
  const one = await liveApp(t, redisStorage({ url: server.url }))
  const two = await liveApp(t, redisStorage({ url: server.url }))
  const cookie = await one.signIn('carol')
  const other = await one.signIn('dave')
  const live = await open(two.url, cookie)
  const otherLive = await open(two.url, other)
  // The second process subscribes when its first socket watches; a publish before that is not
  // seen, so revoke until the message gets through (it does on the first try once subscribed).
  const state = { code: undefined as number | undefined }
  live.closed.then((c) => { state.code = c }, () => {})
  for (let round = 0; state.code === undefined; round++) {
    await one.login.revokeAll('carol')
    await new Promise((resolve) => setTimeout(resolve, 20 * Math.min(round + 1, 10)))
  }
  t.equal(state.code, 4401, 'the socket on the other process closed')
  t.equal(otherLive.socket.readyState, WebSocket.OPEN, 'another user\'s socket stays open')
  otherLive.socket.close()
  await otherLive.closed
})
