import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { SessionListing, SessionProvider } from '../lib/index.js'
import { DEMO_BAD_REQUEST } from './errors.js'
import { html, type Html } from './html.js'

// "Your devices": every session of the logged-in user (issue 16), with its last activity, a
// button to log out each one, and one to log out everywhere else. Open the demo in two browsers
// (or a private window) as the same user to see two rows.

type Send = (request: FastifyRequest, reply: FastifyReply, title: string, body: Html) => FastifyReply

function when (ms: number | null): string {
  return ms === null ? 'never' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + ' UTC'
}

function row (s: SessionListing): Html {
  return html`<tr data-device="${s.current ? 'current' : 'other'}">
  <td>${s.current ? html`<strong class="this-device">This device</strong>` : 'Another device'}<br><span class="muted">${s.userAgent ?? ''}</span></td>
  <td>${when(s.createdAt)}</td>
  <td class="last-seen">${when(s.lastSeenAt)}</td>
  <td>${when(s.expiresAt)}</td>
  <td><form method="post" action="/devices/logout"><input type="hidden" name="handle" value="${s.handle}"><button type="submit" class="secondary revoke">${s.current ? 'Log out' : 'Log out this one'}</button></form></td>
</tr>`
}

export function devicesRoutes (app: FastifyInstance, login: SessionProvider<{ username: string, count: number }>, send: Send): void {
  app.get('/devices', async (request, reply) => {
    if (request.sessions.get(login) === null) return reply.redirect('/', 303)
    const devices = await request.sessions.list(login)
    return send(request, reply, 'Your devices', html`
<h1>Your devices</h1>
<div class="card">
  <p>Every session of this account, most recently active first. Last activity moves when a session is written (each visit to Home) or refreshed, not on every request.</p>
  <table id="devices"><thead><tr><th>Device</th><th>Logged in</th><th>Last activity</th><th>Expires</th><th></th></tr></thead><tbody>${devices.map(row)}</tbody></table>
  ${devices.length > 1
    ? html`<form method="post" action="/devices/logout-others"><p><button type="submit" id="logout-others">Log out everywhere else</button></p></form>`
    : html`<p class="muted" id="only-device">This is your only session.</p>`}
</div>
<p class="muted">Each row's button names its session by an opaque handle: not the session's id, and valid only for this account's sessions.</p>`)
  })

  app.post('/devices/logout', async (request, reply) => {
    const handle = (request.body as Record<string, unknown> | undefined)?.['handle']
    if (typeof handle !== 'string' || handle.length > 64) throw new DEMO_BAD_REQUEST('No such device.')
    await request.sessions.revoke(login, handle)
    return reply.redirect(request.sessions.get(login) === null ? '/' : '/devices', 303)
  })

  app.post('/devices/logout-others', async (request, reply) => {
    await request.sessions.revokeAll(login, { exceptCurrent: true })
    return reply.redirect('/devices', 303)
  })
}
