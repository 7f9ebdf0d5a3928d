import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Test } from 'tap'
import sessions, { type SessionProvider, type SessionStorage, type SessionsOptions } from '../../lib/index.js'

/** A fresh app with the plugin registered, closed when the test ends. */
export async function buildApp (
  t: Test,
  providers: Array<SessionProvider<any>>,
  options: Omit<SessionsOptions, 'providers'> & { fastify?: FastifyServerOptions } = {}
): Promise<FastifyInstance> {
  const { fastify, ...rest } = options
  const app = Fastify(fastify)
  await app.register(sessions, { providers, ...rest })
  t.teardown(() => app.close())
  return app
}

// Reading a response's cookies: `res.cookies` (light-my-request) for names and attributes; the
// helpers below where the raw value matters. `res.cookies` decodes each value with
// decodeURIComponent, so it cannot send back a value in Ktor's encodings as a browser would (a `+`
// that stands for a space, `%21`) nor show the bytes on the wire.

/** The `name=value` pairs of a response's Set-Cookie lines, for the next request's Cookie header. */
export function cookiesOf (setCookie: string | string[] | undefined): string {
  const lines = setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie]
  return lines.map((line) => line.split(';')[0]).join('; ')
}

/** Each cookie's raw value (as sent, not decoded), by name. */
export function rawCookieValues (setCookie: string | string[] | undefined): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of setCookies(setCookie)) {
    const pair = line.split(';')[0] ?? ''
    const eq = pair.indexOf('=')
    out.set(pair.slice(0, eq), pair.slice(eq + 1))
  }
  return out
}

/** Every Set-Cookie line of a response, as an array. */
export function setCookies (setCookie: string | string[] | undefined): string[] {
  return setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie]
}

/** The attributes of one Set-Cookie line, by lowercase name; the value under `value`. */
export function parseSetCookie (line: string): Record<string, string> {
  const [pair, ...attributes] = line.split('; ')
  const eq = (pair ?? '').indexOf('=')
  const out: Record<string, string> = { name: (pair ?? '').slice(0, eq), value: (pair ?? '').slice(eq + 1) }
  for (const attribute of attributes) {
    const i = attribute.indexOf('=')
    if (i < 0) out[attribute.toLowerCase()] = ''
    else out[attribute.slice(0, i).toLowerCase()] = attribute.slice(i + 1)
  }
  return out
}

/**
 * The one fake clock of the tests: replaces Date.now for the rest of the test, frozen at `start`
 * until the test moves it (`advance`, or set `now`). With `ticking`, it also runs on with real
 * time from `start`, for tests that step the wall clock under calls that wait for real.
 */
export function fakeClock (t: Pick<Test, 'teardown'>, start = 1_700_000_000_000, { ticking = false } = {}): { now: number, advance (ms: number): void } {
  const real = Date.now
  const since = real()
  const clock = {
    now: start,
    advance (ms: number) { clock.now += ms },
  }
  Date.now = ticking ? () => clock.now + (real() - since) : () => clock.now
  t.teardown(() => { Date.now = real })
  return clock
}

/**
 * A storage kept in a Map that records every call: a user-written storage, the way the
 * SessionStorage interface allows, used to observe what the plugin asks of storages.
 */
export class RecordingStorage implements SessionStorage {
  readonly entries = new Map<string, { value: string, expiresAt: number | null }>()
  readonly calls: Array<[string, ...unknown[]]> = []
  failing = false
  delay = 0
  withTouch = true

  private async step (name: string, ...args: unknown[]): Promise<void> {
    this.calls.push([name, ...args])
    if (this.delay > 0) await new Promise((resolve) => setTimeout(resolve, this.delay))
    if (this.failing) throw new Error('storage is down')
  }

  async read (key: string): Promise<string | null> {
    await this.step('read', key)
    const entry = this.entries.get(key)
    if (entry === undefined) return null
    if (entry.expiresAt !== null && Date.now() >= entry.expiresAt) {
      this.entries.delete(key)
      return null
    }
    return entry.value
  }

  async write (key: string, value: string, expiresAt: number | null): Promise<void> {
    await this.step('write', key, value, expiresAt)
    this.entries.set(key, { value, expiresAt })
  }

  async invalidate (key: string): Promise<void> {
    await this.step('invalidate', key)
    this.entries.delete(key)
  }

  async compareAndWrite (key: string, expected: string | null, value: string, expiresAt: number | null): Promise<boolean> {
    await this.step('compareAndWrite', key, expected, value, expiresAt)
    const entry = this.entries.get(key)
    const current = entry === undefined || (entry.expiresAt !== null && Date.now() >= entry.expiresAt) ? null : entry.value
    if (current !== expected) return false
    this.entries.set(key, { value, expiresAt })
    return true
  }

  touch? = async (key: string, expiresAt: number | null): Promise<void> => {
    await this.step('touch', key, expiresAt)
    const entry = this.entries.get(key)
    if (entry !== undefined) entry.expiresAt = expiresAt
  }

  count (name: string): number {
    return this.calls.filter(([call]) => call === name).length
  }
}

export const KEY_HEX = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'
export const OTHER_KEY_HEX = '1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100'
