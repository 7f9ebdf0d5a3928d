import { once } from 'node:events'
import websocket from '@fastify/websocket'
import Fastify from 'fastify'
import { test, type Test } from 'tap'
import Type from 'typebox'
import WebSocket from 'ws'
import sessions, { cookieSession, memoryStorage } from '../lib/index.js'

// @fastify/websocket with a real `ws` client: the session is loaded at the upgrade (onRequest runs
// for it), a preValidation guard refuses a socket without a login, and a handler that changes the
// session writes it with `await request.sessions.save(p)`, since no response will carry it.

const Login = Type.Object({ user: Type.String(), messages: Type.Integer() })

async function socketApp (t: Test) {
  const login = cookieSession('LOGIN', Login, { storage: memoryStorage() })
  const app = Fastify()
  await app.register(sessions, { providers: [login] })
  await app.register(websocket)
  app.post('/login', async (request) => {
    request.sessions.set(login, { user: 'ada', messages: 0 })
    return 'ok'
  })
  app.get('/me', async (request) => request.sessions.get(login))
  app.get('/ws', {
    websocket: true,
    preValidation: async (request, reply) => {
      if (request.sessions.get(login) === null) await reply.code(401).send({ error: 'log in first' })
    },
  }, (socket, request) => {
    socket.on('message', async () => {
      const current = request.sessions.get(login)
      if (current === null) return socket.close()
      request.sessions.set(login, { ...current, messages: current.messages + 1 })
      await request.sessions.save(login)
      socket.send(String(current.messages + 1))
    })
  })
  app.get('/ws-open', { websocket: true }, (socket, request) => {
    socket.on('message', () => {
      try {
        request.sessions.set(login, { user: 'eve', messages: 1 })
        socket.send('set')
      } catch (error) {
        socket.send((error as { code: string }).code)
      }
    })
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return { app, url: `ws://127.0.0.1:${port}/ws` }
}

test('a socket without a login is refused at the upgrade by a preValidation guard', async (t) => {
  const { url } = await socketApp(t)
  const client = new WebSocket(url)
  client.on('error', () => {})
  const [request, response] = await once(client, 'unexpected-response') as [{ destroy (): void }, { statusCode: number }]
  t.equal(response.statusCode, 401)
  request.destroy()
})

test('the session is read at the upgrade, and save() persists what the socket handler changed', async (t) => {
  const { app, url } = await socketApp(t)
  const login = await app.inject({ method: 'POST', url: '/login' })
  const cookie = `LOGIN=${login.cookies[0]?.value}`
  const client = new WebSocket(url, { headers: { cookie } })
  await once(client, 'open')
  const replies: string[] = []
  for (let i = 0; i < 3; i++) {
    client.send('hello')
    const [data] = await once(client, 'message') as [Buffer]
    replies.push(data.toString())
  }
  t.same(replies, ['1', '2', '3'], 'each message counted into the session')
  client.close()
  await once(client, 'close')
  const me = await app.inject({ method: 'GET', url: '/me', headers: { cookie } })
  t.same(me.json(), { user: 'ada', messages: 3 }, 'an HTTP request reads what the socket saved')
})

test('in a socket, a session that would need a new cookie cannot be set: FST_SESSIONS_ALREADY_SENT', async (t) => {
  const { url } = await socketApp(t)
  const client = new WebSocket(url + '-open')
  await once(client, 'open')
  client.send('hello')
  const [data] = await once(client, 'message') as [Buffer]
  t.equal(data.toString(), 'FST_SESSIONS_ALREADY_SENT', 'no cookie can reach the client any more')
  client.close()
  await once(client, 'close')
})
