import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler, onSendHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import Type, { type Static } from 'typebox'
import type { SessionStorage } from '../storages/storage.js'
import { checkChunkedCookies } from './chunked-transport.js'
import { kFlush, kLoad, kMigrate, SessionContainer } from './container.js'
import { FST_SESSIONS_DUPLICATE, FST_SESSIONS_OPTIONS, FST_SESSIONS_UNKNOWN } from './errors.js'
import { parseOptionsWithDefaults, withDefault } from './options.js'
import { makeRegistry } from './registry.js'
import { describeStorageError } from './server-side.js'
import { providerOf, type InvalidReason, type Provider, type SessionProvider } from './provider.js'
import type { Transport } from './transport.js'
import { beforeFlush, containerOf, decorateSessions } from './request-state.js'
import { checkSubjectOptions } from './user-sessions.js'

export const SessionsOptionsSchema = Type.Object({
  /** The session providers, made by cookieSession() and headerSession(). */
  providers: Type.Array(Type.Unsafe<SessionProvider<unknown>>(Type.Object({})), { minItems: 1 }),
  /** Told of every session that was sent but reads as absent, with the reason (for metrics). */
  onInvalid: Type.Optional(Type.Unsafe<(reason: InvalidReason, request: FastifyRequest, provider: SessionProvider<unknown>) => void>(
    Type.Function([], Type.Unknown())
  )),
  /**
   * What responses that carry session data tell caches: `'private'` (default; no shared cache
   * stores them) or `'no-store'` (no cache at all, browsers included: OWASP ASVS 5.0 14.3.2).
   */
  cacheControl: withDefault(Type.Union([Type.Literal('private'), Type.Literal('no-store')]), 'private'),
}, { additionalProperties: false })

export type SessionsOptions = Static<typeof SessionsOptionsSchema>

// Keys Fastify itself reads from any plugin's options.
const REGISTER_KEYS = new Set(['prefix', 'logLevel', 'logSerializers'])

function checkUnique (providers: readonly Provider[]): void {
  const names = new Set<string>()
  const schemas = new Set<unknown>()
  for (const p of providers) {
    if (names.has(p.name)) throw new FST_SESSIONS_DUPLICATE(`"${p.name}"`, 'provider names must be unique')
    if (schemas.has(p.schema)) throw new FST_SESSIONS_DUPLICATE(`"${p.name}"`, 'its schema already backs another provider; give each provider its own schema object')
    names.add(p.name)
    schemas.add(p.schema)
  }
}

async function sessionsPlugin (fastify: FastifyInstance, input: SessionsOptions): Promise<void> {
  if (fastify.hasRequestDecorator('sessions')) {
    throw new FST_SESSIONS_OPTIONS('fastify-sessions is registered twice (here, or in a parent context): register it once, with every provider in its providers list')
  }
  const own = Object.fromEntries(Object.entries(input ?? {}).filter(([key]) => !REGISTER_KEYS.has(key)))
  const options = parseOptionsWithDefaults(SessionsOptionsSchema, own, 'fastify-sessions')
  const providers = options.providers.map(providerOf)
  checkUnique(providers)
  for (const p of providers) checkSubjectOptions(p)
  warnAbout(fastify, providers)
  checkChunkedCookies(providers.map((p) => p.codec.transport), fastify.server, fastify.log)

  const registry = makeRegistry(providers, options.cacheControl, options.onInvalid)
  const lookup = registry.lookup
  const transports = providers.map((p) => p.codec.transport)
  const migrating = providers.map((p) => p.migrations !== undefined)

  decorateSessions(fastify)

  fastify.addHook('onRoute', (route) => {
    const selected = route.config?.sessions
    if (selected === undefined || selected === false) return
    for (const name of selected) {
      if (!lookup.has(name)) throw new FST_SESSIONS_UNKNOWN(name)
    }
  })

  const onRequest: onRequestHookHandler = function (request: FastifyRequest, reply: FastifyReply, next: HookHandlerDoneFunction) {
    const container = new SessionContainer(registry, request, reply)
    request.sessions = container
    const headers = request.headers
    let pending: Array<Promise<void>> | undefined
    let now = 0
    for (let index = 0; index < transports.length; index++) {
      const raw = (transports[index] as Transport).read(headers)
      if (raw === undefined || raw === '') {
        // No session of ours: another library's may move in (a request without its cookie pays one scan).
        const moving = migrating[index] === true ? container[kMigrate](index, headers.cookie, now ||= Date.now()) : undefined
        if (moving !== undefined) (pending ??= []).push(moving)
        continue
      }
      const loading = container[kLoad](index, raw, now ||= Date.now())
      if (loading !== undefined) (pending ??= []).push(loading)
    }
    if (pending === undefined) return next()
    // One server-side session is the common case: its promise alone, without a Promise.all.
    const loaded = pending.length === 1 ? pending[0] as Promise<void> : Promise.all(pending)
    loaded.then(() => resume(request, () => next(), next), (error: Error) => resume(request, () => next(error), next))
  }

  const onSend: onSendHookHandler = function (request, _reply, payload, next) {
    const container = containerOf(request)
    if (container === null) return next(null, payload)
    let writing: Promise<void> | undefined
    try {
      beforeFlush(request)
      writing = container[kFlush]()
    } catch (error) {
      return next(error as Error)
    }
    if (writing === undefined) return next(null, payload)
    writing.then(() => resume(request, () => next(null, payload), next), (error: Error) => resume(request, () => next(error), next))
  }

  fastify.addHook('onRequest', onRequest)
  fastify.addHook('onSend', onSend)

  fastify.addHook('onClose', async () => closeStorages(fastify, providers))
}

function warnAbout (fastify: FastifyInstance, providers: readonly Provider[]): void {
  for (const p of providers) {
    if (!p.serverSide && p.transformers.length === 0) {
      fastify.log.warn({ session: p.name }, `session "${p.name}" is client-side with no transformer: clients can read and change it; add messageAuthentication() or encrypt()`)
    }
    for (const transformer of p.transformers) {
      for (const warning of transformer.warnings ?? []) fastify.log.warn({ session: p.name }, warning)
    }
  }
}

/** Every storage is closed, whatever another one's close() does; a failure is logged. */
async function closeStorages (fastify: FastifyInstance, providers: readonly Provider[]): Promise<void> {
  const storages = new Set<SessionStorage>()
  for (const p of providers) if (p.storage !== undefined) storages.add(p.storage)
  await Promise.all([...storages].map(async (storage) => {
    try {
      await storage.close?.()
    } catch (error) {
      fastify.log.error({ storageError: describeStorageError(error) }, 'session storage failed to close')
    }
  }))
}

/**
 * Hands control back to Fastify from a promise callback. Fastify's `next` can throw there (a
 * handler that sent twice: the headers are gone when the delayed send arrives), and a throw in a
 * promise callback is an unhandled rejection that ends the process. Fastify's own promise hooks
 * turn that throw into the error path, which logs "Reply was already sent"; so does this.
 */
function resume (request: FastifyRequest, step: () => void, fail: (error: Error) => void): void {
  try {
    step()
  } catch (thrown) {
    try {
      fail(thrown as Error)
    } catch (again) {
      request.log.error({ err: again }, 'fastify-sessions: the reply could not be completed')
    }
  }
}

/** The fastify-sessions plugin: register it with `{ providers: [...] }`. */
export const fastifySessions = fp(sessionsPlugin, { fastify: '5.x', name: 'fastify-sessions' })
