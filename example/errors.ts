import { STATUS_CODES } from 'node:http'
import createError from '@fastify/error'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { html, type Html } from './html.js'

// The demo's error answers: a browser (its Accept header prefers text/html) gets a page in the
// demo's layout, any other client JSON in Fastify's shape ({ statusCode, code, error, message }).
// Messages of coded and client errors are shown; an unexpected error shows none of its details.

/** A form or body value the demo refuses. */
export const DEMO_BAD_REQUEST = createError('DEMO_BAD_REQUEST', '%s', 400)
/** An API call without a live X-Api-Session. */
export const DEMO_NO_SESSION = createError('DEMO_NO_SESSION', '%s', 401)

/** Renders a page in the demo's layout with this status (the app's own `send`). */
export type PageSender = (request: FastifyRequest, reply: FastifyReply, title: string, body: Html, status: number) => FastifyReply

/** Whether the client prefers HTML to JSON: it names text/html, with a higher quality (or first on a tie). */
export function wantsHtml (accept: string | undefined): boolean {
  const ranges = (accept ?? '').split(',').map((part) => {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase())
    const q = params.find((p) => p.startsWith('q='))
    return { type, q: q === undefined ? 1 : Number(q.slice(2)) || 0 }
  })
  const at = (type: string): number => ranges.findIndex((r) => r.type === type && r.q > 0)
  const htmlAt = at('text/html')
  if (htmlAt < 0) return false
  const jsonAt = at('application/json')
  if (jsonAt < 0) return true
  const [h, j] = [ranges[htmlAt]?.q ?? 0, ranges[jsonAt]?.q ?? 0]
  return h > j || (h === j && htmlAt < jsonAt)
}

const EXPLAIN: Readonly<Record<number, string>> = {
  404: 'There is nothing here.',
  500: 'Something went wrong on the server. The server log has the details.',
  503: 'The session storage is not answering (is Redis running?), so the server cannot tell who you are. Nothing was changed. Try again in a moment.',
}

/** Answers with an error: an HTML page or JSON, by the request's Accept header. */
export function sendError (send: PageSender, request: FastifyRequest, reply: FastifyReply, status: number, message: string, code?: string): FastifyReply {
  const error = STATUS_CODES[status] ?? 'Error'
  if (!wantsHtml(request.headers.accept)) {
    return reply.code(status).type('application/json; charset=utf-8').send({ statusCode: status, ...(code === undefined ? {} : { code }), error, message })
  }
  const explain = EXPLAIN[status]
  return send(request, reply, `${status} ${error}`, html`
<h1>${status} ${error}</h1>
<div class="card">
  ${explain === undefined ? '' : html`<p>${explain}</p>`}
  <p id="error-message">${status === 404 ? html`No page at <code>${request.url.split('?')[0]}</code>.` : message}</p>
  ${code === undefined ? '' : html`<p class="muted">Error code: <code id="error-code">${code}</code></p>`}
  <p><a href="/">Back to the home page</a></p>
</div>`, status)
}

/** Installs the error and not-found handlers on `app`. */
export function errorPages (app: FastifyInstance, send: PageSender): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500
    // Client errors and the package's coded errors have messages meant to be read (and never
    // carry a session value); anything else is a bug whose details stay in the log.
    const shown = status < 500 || error.code?.startsWith('FST_SESSIONS_') === true
    if (status >= 500) request.log.error({ err: error }, 'request failed')
    return sendError(send, request, reply, status, shown ? error.message : 'Internal Server Error', shown ? error.code : undefined)
  })
  app.setNotFoundHandler((request, reply) => sendError(send, request, reply, 404, `No route ${request.method} ${request.url.split('?')[0]}`))
}
