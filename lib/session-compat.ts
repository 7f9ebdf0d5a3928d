import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { SetOptions } from './container.js'
import { FST_SESSIONS_OPTIONS } from './errors.js'
import { providerOf, type Provider, type SessionProvider } from './provider.js'
import { onBeforeFlush } from './request-state.js'

// `request.session` as @fastify/session and @fastify/secure-session shape it, over one provider of
// `request.sessions`, for the plugins written against those two (@fastify/passport, @fastify/flash,
// @fastify/csrf-protection). Changes are made on a copy of the payload, checked against the
// schema at once, and set when the response goes out, once, if the payload changed.

/** `request.session`: the methods the peer plugins call, and the payload's keys as properties. */
export interface CompatSession<T extends object = Record<string, unknown>> {
  /** The value of one key of the payload. */
  get<K extends keyof T & string> (key: K): T[K] | undefined
  /** Sets one key (`undefined` deletes it); the payload must still match the schema. */
  set<K extends keyof T & string> (key: K, value: T[K] | undefined): void
  /** The whole session ends: the cookie is expired and, server-side, the stored entry invalidated. */
  delete (): void
  /** A new id for the session (the old one is dead), keeping only `keepKeys` when given. */
  regenerate (keepKeys?: readonly string[]): Promise<void>
  /** The session is written again with this response (its idle clock starts over). */
  touch (): void
  /** `maxAge` in seconds: this session's own lifetime ("remember me"), up to the provider's maxAgeLimit. */
  options (options: { maxAge?: number }): void
  /** A copy of the payload. */
  data (): Partial<T>
  /** Writes a server-side session to its storage now (see `request.sessions.save`). */
  save (): Promise<void>
  /** The server-side id the client holds, or null. */
  readonly sessionId: string | null
  /** The payload's keys, read and written as properties (as @fastify/session allows). */
  [key: string]: unknown
}

export interface SessionCompatOptions {
  /** The provider `request.session` stands for; its payload must be an object. */
  provider: SessionProvider<object>
  /** The request property; default `'session'`. */
  decorator?: string
}

const kState = Symbol('fastify-sessions.compat')

type Bag = Record<string, unknown>

/** One request's `request.session`: the payload copy and what was done to it. */
class CompatState {
  readonly request: FastifyRequest
  readonly provider: Provider
  data: Bag
  /** The payload as last read or set, for telling whether it changed. */
  text: string
  setOptions: SetOptions = {}
  ended = false
  readonly proxy: CompatSession

  constructor (request: FastifyRequest, provider: Provider) {
    this.request = request
    this.provider = provider
    const current = request.sessions.get(provider) as Bag | null
    this.data = current === null ? {} : structuredClone(current)
    this.text = current === null ? '' : JSON.stringify(this.data)
    // A Proxy's type is its target's; what the traps add (the payload's keys) no type can say.
    this.proxy = new Proxy(this.methods(), this.traps()) as CompatSession
    onBeforeFlush(request, () => this.flush())
  }

  /** A change: checked against the schema now, so a wrong value throws in the handler. */
  change (next: Bag): void {
    this.provider.serialize(next)
    this.data = next
    this.ended = false
  }

  setKey (key: string, value: unknown): void {
    const next = { ...this.data }
    if (value === undefined) delete next[key]
    else next[key] = value
    this.change(next)
  }

  end (): void {
    this.data = {}
    this.text = ''
    this.ended = true
    this.request.sessions.clear(this.provider)
  }

  async regenerate (keepKeys?: readonly string[]): Promise<void> {
    const kept: Bag = {}
    for (const key of keepKeys ?? []) if (Object.hasOwn(this.data, key)) kept[key] = this.data[key]
    if (Object.keys(kept).length === 0) return this.end()
    this.change(kept)
    if (this.request.sessions.get(this.provider) !== null) this.request.sessions.regenerate(this.provider)
    this.write()
  }

  /** Sets the payload when it differs from what was last read or set (nested changes included). */
  flush (): void {
    if (this.ended || Object.keys(this.data).length === 0) {
      if (!this.ended && this.text !== '') this.end()
      return
    }
    if (JSON.stringify(this.data) !== this.text) this.write()
  }

  write (): void {
    this.request.sessions.set(this.provider, this.data, this.setOptions)
    this.text = JSON.stringify(this.data)
  }

  methods (): Bag {
    return {
      get: (key: string) => this.data[key],
      set: (key: string, value: unknown) => this.setKey(key, value),
      delete: () => this.end(),
      regenerate: async (keepKeys?: readonly string[]) => this.regenerate(keepKeys),
      touch: () => { this.text = '' },
      options: (options: { maxAge?: number } | undefined) => {
        if (options?.maxAge === undefined) return
        this.setOptions = { maxAge: options.maxAge }
        this.text = ''
      },
      data: () => structuredClone(this.data),
      save: async () => {
        this.flush()
        await this.request.sessions.save(this.provider)
      },
    }
  }

  traps (): ProxyHandler<Bag> {
    return {
      get: (methods, key) => {
        if (key === 'sessionId') return this.request.sessions.id(this.provider)
        if (typeof key === 'symbol') return undefined
        return Object.hasOwn(methods, key) ? methods[key] : this.data[key]
      },
      set: (_methods, key, value) => {
        if (typeof key === 'symbol' || key === 'sessionId') return false
        this.setKey(key, value)
        return true
      },
      deleteProperty: (_methods, key) => {
        if (typeof key !== 'symbol') this.setKey(key, undefined)
        return true
      },
      has: (methods, key) => typeof key === 'string' && (Object.hasOwn(methods, key) || Object.hasOwn(this.data, key)),
      ownKeys: () => Object.keys(this.data),
      getOwnPropertyDescriptor: (_methods, key) => typeof key === 'string' && Object.hasOwn(this.data, key)
        ? { value: this.data[key], writable: true, enumerable: true, configurable: true }
        : undefined,
    }
  }
}

interface Carrier { [kState]: CompatState | undefined }

async function compatPlugin (fastify: FastifyInstance, options: SessionCompatOptions): Promise<void> {
  const provider = providerOf(options?.provider)
  const decorator = options.decorator ?? 'session'
  if (typeof decorator !== 'string' || decorator === 'sessions' || decorator === '') {
    throw new FST_SESSIONS_OPTIONS('sessionCompat: decorator must be a property name other than "sessions"')
  }
  if (!fastify.hasRequestDecorator('sessions')) {
    throw new FST_SESSIONS_OPTIONS('sessionCompat needs fastify-sessions registered first (app.register(sessions, { providers }))')
  }
  if (fastify.hasRequestDecorator(decorator)) {
    throw new FST_SESSIONS_OPTIONS(`sessionCompat: request.${decorator} is already decorated (by @fastify/session or @fastify/secure-session?); use one session plugin, or another decorator name`)
  }
  fastify.decorateRequest(kState, undefined)
  fastify.decorateRequest(decorator, {
    getter (this: FastifyRequest): CompatSession {
      const carrier = this as FastifyRequest & Carrier
      carrier[kState] ??= new CompatState(this, provider)
      return carrier[kState].proxy
    },
  })
}

/**
 * `request.session` over one provider, for plugins written for @fastify/session or
 * @fastify/secure-session: @fastify/passport, @fastify/flash, @fastify/csrf-protection.
 */
export const sessionCompat = fp(compatPlugin, {
  fastify: '5.x',
  name: 'fastify-sessions-compat',
  dependencies: ['fastify-sessions'],
})
