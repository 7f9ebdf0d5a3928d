import csrf from '@fastify/csrf-protection'
import Fastify from 'fastify'
import { test } from 'tap'
import Type from 'typebox'
import sessions, { cookieSession, memoryStorage, sessionCompat } from '../lib/index.js'

// @fastify/csrf-protection, unchanged, over sessionCompat in both its session modes:
// '@fastify/secure-session' (request.session.get / set) and '@fastify/session' (properties).

for (const sessionPlugin of ['@fastify/secure-session', '@fastify/session'] as const) {
  test(`a CSRF token is accepted and a wrong one refused with 403 (${sessionPlugin})`, async (t) => {
    const main = cookieSession('sessionId', Type.Record(Type.String(), Type.Unknown()), { storage: memoryStorage() })
    const app = Fastify()
    await app.register(sessions, { providers: [main] })
    await app.register(sessionCompat, { provider: main })
    await app.register(csrf, { sessionPlugin })
    app.get('/form', async (_request, reply) => ({ token: reply.generateCsrf() }))
    app.post('/transfer', { onRequest: app.csrfProtection }, async () => 'done')
    t.teardown(() => app.close())

    const form = await app.inject({ method: 'GET', url: '/form' })
    t.equal(form.statusCode, 200)
    const secret = form.cookies.find((c) => c.name === 'sessionId')
    t.ok(secret, 'the CSRF secret is kept in the session')
    const cookie = `sessionId=${secret?.value}`
    const token = form.json().token as string

    const ok = await app.inject({ method: 'POST', url: '/transfer', headers: { cookie, 'x-csrf-token': token } })
    t.equal(ok.statusCode, 200, 'the token accepted')
    t.equal(ok.body, 'done')
    const wrong = await app.inject({ method: 'POST', url: '/transfer', headers: { cookie, 'x-csrf-token': token.slice(0, -2) + 'xx' } })
    t.equal(wrong.statusCode, 403, 'a wrong token refused')
    t.equal(wrong.json().code, 'FST_CSRF_INVALID_TOKEN')
    const none = await app.inject({ method: 'POST', url: '/transfer', headers: { 'x-csrf-token': token } })
    t.equal(none.statusCode, 403, 'a token without the session that holds its secret refused')
    t.equal(none.json().code, 'FST_CSRF_MISSING_SECRET')

    const again = await app.inject({ method: 'GET', url: '/form', headers: { cookie } })
    t.equal(again.cookies.length, 0, 'a second form reuses the secret: no write')
  })
}
