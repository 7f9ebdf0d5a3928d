import websocket from '@fastify/websocket'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { SessionProvider } from '../lib/index.js'
import { Html, html } from './html.js'

// A WebSocket that counts messages into the logged-in session. The session is loaded at the
// upgrade (a preValidation guard refuses a socket without a login); no response will carry a
// change made in the socket, so each one is written with `await request.sessions.save(login)`.
// `request.sessions.watch` closes the socket (code 4401) when the session ends elsewhere: a logout
// in another tab, or "Log out this one" / "Log out everywhere else" on another device.

interface Counted { username: string, count: number, messages?: number | undefined }

type Send = (request: FastifyRequest, reply: FastifyReply, title: string, body: Html, status?: number) => FastifyReply

// A constant of this file, never request data: written into the page as is.
const SCRIPT = `
const state = document.getElementById('state'), ended = document.getElementById('ended'), shown = document.getElementById('messages'), button = document.getElementById('send')
const socket = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/socket/live')
socket.onopen = () => { state.textContent = 'connected'; button.disabled = false }
socket.onclose = (event) => {
  button.disabled = true
  if (event.code !== 4401) { state.textContent = 'closed'; return }
  state.textContent = 'session ended'
  ended.hidden = false
}
socket.onmessage = (event) => { shown.textContent = event.data }
button.onclick = () => socket.send('hello')`

export async function socketDemo (app: FastifyInstance, login: SessionProvider<Counted>, send: Send): Promise<void> {
  await app.register(websocket)

  app.get('/socket', async (request, reply) => {
    const s = request.sessions.get(login)
    if (s === null) return send(request, reply, 'WebSocket', html`<h1>WebSocket</h1><div class="card"><p id="socket-login">Log in on the <a href="/">home page</a> first: the socket is refused without a session.</p></div>`, 401)
    return send(request, reply, 'WebSocket', html`
<h1>WebSocket</h1>
<div class="card">
  <p>Socket: <strong id="state">connecting</strong>. Each message is counted into <code>LOGIN_SESSION</code> and saved with <code>await request.sessions.save(login)</code>.</p>
  <p id="ended" hidden><strong>Your session ended</strong>: logged out in another tab or from another device ("Your devices"). <a href="/">Log in again</a>.</p>
  <p class="big" id="messages">${s.messages ?? 0}</p>
  <p><button type="button" id="send" disabled>Send a message</button></p>
  <p class="muted">Saved so far (read by this page from the session): <strong id="saved">${s.messages ?? 0}</strong>. Reload to see it kept.</p>
</div>
<script>${new Html(SCRIPT)}</script>`)
  })

  app.get('/socket/live', {
    websocket: true,
    preValidation: async (request, reply) => {
      if (request.sessions.get(login) === null) await reply.code(401).send({ error: 'log in first' })
    },
  }, (socket, request) => {
    const stop = request.sessions.watch(login, () => socket.close(4401, 'session ended'))
    socket.on('close', stop)
    // One message at a time: each save finishes before the next change.
    let queue = Promise.resolve()
    socket.on('message', () => {
      queue = queue.then(async () => {
        const current = request.sessions.get(login)
        if (current === null) return socket.close(1008, 'logged out')
        const messages = (current.messages ?? 0) + 1
        request.sessions.set(login, { ...current, messages })
        await request.sessions.save(login)
        socket.send(String(messages))
      }).catch((error: unknown) => {
        request.log.warn({ err: error }, 'socket message not saved')
        socket.close(1011, 'not saved')
      })
    })
  })
}
