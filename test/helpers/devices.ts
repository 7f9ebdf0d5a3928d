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

/**
 * The behaviours of a user's sessions that every storage must give, on real time (Redis judges
 * expiry by its own clock): list, revoke by handle, revokeAll with and without exceptCurrent,
 * sessionsOf / revokeAll outside a request, and an index kept true by logout and regenerate.
 */
export async function userSessionsOver (t: Test, storage: () => SessionStorage): Promise<void> {
  await t.test('list, revoke and "log out everywhere else"', async (t) => {
    const { app, signIn, list, who } = await devicesApp(t, storage())
    const [phone, laptop, tablet] = [await signIn('ann'), await signIn('ann'), await signIn('ann')]
    const bob = await signIn('bob')
    const listed = await list(laptop)
    t.equal(listed.length, 3, 'ann\'s three sessions')
    t.equal(listed.filter((s) => s.current).length, 1)
    const bobHandle = (await list(bob))[0]!.handle
    t.same((await app.inject({ method: 'POST', url: '/revoke', headers: { cookie: laptop }, payload: { handle: bobHandle } })).json(), { revoked: false }, 'not bob\'s')
    const phoneHandle = (await list(phone)).find((s) => s.current)!.handle
    t.same((await app.inject({ method: 'POST', url: '/revoke', headers: { cookie: laptop }, payload: { handle: phoneHandle } })).json(), { revoked: true })
    t.equal(await who(phone), null, 'the phone is logged out')
    await app.inject({ method: 'POST', url: '/revoke-all?except=1', headers: { cookie: laptop } })
    t.equal(await who(laptop), 'ann', 'the laptop stays')
    t.equal(await who(tablet), null, 'the tablet is logged out')
    t.equal(await who(bob), 'bob', 'bob is not touched')
    t.equal((await list(laptop)).length, 1)
  })

  await t.test('sessionsOf and revokeAll outside a request; logout and regenerate keep the index true', async (t) => {
    const { app, login, signIn, list, who } = await devicesApp(t, storage())
    const subject = `carol-${Math.random().toString(36).slice(2)}`
    const a = await signIn(subject)
    const b = await signIn(subject)
    const c = await signIn(subject)
    await app.inject({ method: 'POST', url: '/logout', headers: { cookie: c } })
    const moved = cookiesOf((await app.inject({ method: 'POST', url: '/regenerate', headers: { cookie: b } })).headers['set-cookie'])
    const listed = await list(moved)
    t.equal(listed.length, 2, 'the logged-out session is gone, the regenerated one counted once')
    t.equal(listed.filter((s) => s.current).length, 1, 'the regenerated session is current under its new id')
    t.equal((await login.sessionsOf(subject)).length, 2)
    await login.revokeAll(subject)
    t.equal(await who(a), null)
    t.equal(await who(moved), null)
    t.same(await login.sessionsOf(subject), [])
  })
}
