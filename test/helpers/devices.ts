import type { FastifyInstance } from 'fastify'
import type { Test } from 'tap'
import Type from 'typebox'
import { cookieSession, type CookieSessionOptions, type SessionProvider, type SessionStorage } from '../../lib/index.js'
import { buildApp, cookiesOf } from './app.js'

// An app whose sessions belong to users, with a route for each user-sessions call, for the tests
// of `list`, `revoke` and `revokeAll` over every storage.

export const userSchema = () => Type.Object({ user: Type.String(), n: Type.Integer() })

export interface Devices {
  app: FastifyInstance
  login: SessionProvider<{ user: string, n: number }>
  /** Logs `user` in; resolves the Cookie header of the new device. */
  signIn (user: string, headers?: Record<string, string>): Promise<string>
  list (cookie: string): Promise<Array<{ handle: string, current: boolean, createdAt: number, lastSeenAt: number, expiresAt: number | null, userAgent?: string, ip?: string }>>
  /** The user a cookie reads as, or null. */
  who (cookie: string): Promise<string | null>
}

export async function devicesApp (t: Test, storage: SessionStorage, options: Omit<CookieSessionOptions<{ user: string, n: number }>, 'storage' | 'subject'> = {}): Promise<Devices> {
  const login = cookieSession('LOGIN', userSchema(), { storage, subject: (s) => s.user, ...options })
  const app = await buildApp(t, [login])
  app.post('/login', async (request) => {
    request.sessions.set(login, { user: (request.query as { user: string }).user, n: 0 })
    return 'ok'
  })
  app.get('/list', async (request) => await request.sessions.list(login))
  app.get('/who', async (request) => ({ user: request.sessions.get(login)?.user ?? null }))
  app.post('/bump', async (request) => {
    const s = request.sessions.get(login)
    if (s !== null) request.sessions.set(login, { ...s, n: s.n + 1 })
    return 'ok'
  })
  app.post('/revoke', async (request) => ({ revoked: await request.sessions.revoke(login, (request.body as { handle: string }).handle) }))
  app.post('/revoke-all', async (request) => {
    await request.sessions.revokeAll(login, { exceptCurrent: (request.query as { except?: string }).except === '1' })
    return 'ok'
  })
  app.post('/logout', async (request) => { request.sessions.clear(login); return 'ok' })
  app.post('/regenerate', async (request) => { request.sessions.regenerate(login); return 'ok' })
  return {
    app,
    login,
    async signIn (user, headers = {}) {
      const res = await app.inject({ method: 'POST', url: `/login?user=${user}`, headers })
      return cookiesOf(res.headers['set-cookie'])
    },
    async list (cookie) {
      return (await app.inject({ url: '/list', headers: { cookie } })).json()
    },
    async who (cookie) {
      return (await app.inject({ url: '/who', headers: { cookie } })).json().user
    },
  }
}
