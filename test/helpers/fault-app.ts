import type { LightMyRequestResponse } from 'fastify'
import type { Test } from 'tap'
import Type from 'typebox'
import { cookieSession, type SessionStorage } from '../../lib/index.js'
import { buildApp, cookiesOf } from './app.js'

/**
 * An app for fault tests: logins, increments and reads of one server-side session type on
 * `storage`, with a ledger of every session it acknowledged with a 2xx and what that session holds.
 */
export async function acknowledgingApp (t: Test, storage: SessionStorage) {
  const login = cookieSession('LOGIN', Type.Object({ user: Type.String(), n: Type.Integer() }), { storage, concurrency: 'reject' })
  const app = await buildApp(t, [login])
  let users = 0
  app.post('/login', async (request) => { request.sessions.set(login, { user: `user ${users++}`, n: 0 }); return 'ok' })
  app.post('/inc', async (request) => {
    const s = request.sessions.get(login)
    if (s !== null) request.sessions.set(login, { ...s, n: s.n + 1 })
    return s
  })
  app.get('/me', async (request) => request.sessions.get(login))
  const acknowledged = new Map<string, { user: string, n: number }>()
  return {
    acknowledged,
    async login (): Promise<LightMyRequestResponse> {
      const response = await app.inject({ method: 'POST', url: '/login' })
      if (response.statusCode === 200) acknowledged.set(cookiesOf(response.headers['set-cookie']), { user: `user ${users - 1}`, n: 0 })
      return response
    },
    async inc (cookie: string): Promise<LightMyRequestResponse> {
      const response = await app.inject({ method: 'POST', url: '/inc', headers: { cookie } })
      const before = acknowledged.get(cookie)
      if (response.statusCode === 200 && before !== undefined) acknowledged.set(cookie, { ...before, n: before.n + 1 })
      return response
    },
    me: (cookie: string): Promise<LightMyRequestResponse> => app.inject({ url: '/me', headers: { cookie } }),
  }
}

export type AcknowledgingApp = Awaited<ReturnType<typeof acknowledgingApp>>

/** A storage failure answered as it must be: 503, its code, and no cookie. */
export function check503 (t: Test, response: LightMyRequestResponse, what: string): void {
  t.equal(response.statusCode, 503, `${what}: 503`)
  t.equal(response.json().code, 'FST_SESSIONS_STORAGE_UNAVAILABLE', `${what}: FST_SESSIONS_STORAGE_UNAVAILABLE`)
  t.equal(response.headers['set-cookie'], undefined, `${what}: no cookie`)
}

/** Every session acknowledged with a 2xx reads back as acknowledged. */
export async function everyAcknowledgedSessionReadsBack (t: Test, app: AcknowledgingApp): Promise<void> {
  const missing: string[] = []
  for (const [cookie, expected] of app.acknowledged) {
    const response = await app.me(cookie)
    if (response.statusCode !== 200 || JSON.stringify(response.json()) !== JSON.stringify(expected)) missing.push(`${expected.user}: ${response.body}`)
  }
  t.same(missing, [], `all ${app.acknowledged.size} sessions acknowledged with a 2xx read back as acknowledged`)
}
