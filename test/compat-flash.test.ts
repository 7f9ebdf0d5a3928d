import flash from '@fastify/flash'
import Fastify from 'fastify'
import { test } from 'tap'
import Type from 'typebox'
import sessions, { cookieSession, hex, memoryStorage, messageAuthentication, sessionCompat, type SessionProvider } from '../lib/index.js'
import { KEY_HEX } from './helpers/app.js'

// @fastify/flash, unchanged, over sessionCompat: request.flash() stores in request.session,
// reply.flash() reads and removes. Server-side and client-side providers alike.

const providers: Record<string, () => SessionProvider<Record<string, unknown>>> = {
  'server-side': () => cookieSession('sessionId', Type.Record(Type.String(), Type.Unknown()), { storage: memoryStorage() }),
  'client-side': () => cookieSession('sessionId', Type.Record(Type.String(), Type.Unknown()), { transformers: [messageAuthentication({ key: hex(KEY_HEX) })] }),
}

for (const [mode, make] of Object.entries(providers)) {
  test(`a flash message is shown once (${mode})`, async (t) => {
    const main = make()
    const app = Fastify()
    await app.register(sessions, { providers: [main] })
    await app.register(sessionCompat, { provider: main })
    await app.register(flash)
    app.post('/save', async (request, reply) => {
      request.flash('info', 'Saved')
      return reply.redirect('/page')
    })
    app.get('/page', async (_request, reply) => ({ info: reply.flash('info') }))
    t.teardown(() => app.close())

    const saved = await app.inject({ method: 'POST', url: '/save' })
    t.equal(saved.statusCode, 302)
    const first = saved.cookies.find((c) => c.name === 'sessionId')
    t.ok(first, 'the flash travels in the session')
    const shown = await app.inject({ method: 'GET', url: '/page', headers: { cookie: `sessionId=${first?.value}` } })
    t.same(shown.json(), { info: ['Saved'] }, 'shown on the next page')
    const next = shown.cookies.find((c) => c.name === 'sessionId')
    const cookie = next === undefined ? `sessionId=${first?.value}` : `sessionId=${next.value}`
    const again = await app.inject({ method: 'GET', url: '/page', headers: { cookie } })
    t.same(again.json(), { info: [] }, 'and not again')
    if (mode === 'server-side') {
      const replay = await app.inject({ method: 'GET', url: '/page', headers: { cookie: `sessionId=${first?.value}` } })
      t.same(replay.json(), { info: [] }, 'not even with the cookie that carried it')
    }
  })
}
