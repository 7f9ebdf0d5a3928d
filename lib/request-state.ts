import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { SessionContainer } from './container.js'
import { FST_SESSIONS_OPTIONS } from './errors.js'

// Where a request keeps its SessionContainer, behind `request.sessions`. A getter instead of a
// plain field, so that a hook running before the plugin's onRequest gets an error saying what to
// do instead of "Cannot read properties of null".

const kContainer = Symbol('fastify-sessions.container')
const kBeforeFlush = Symbol('fastify-sessions.before-flush')

interface Carrier {
  [kContainer]: SessionContainer | null
  [kBeforeFlush]: Array<() => void> | null
}

function carrier (request: FastifyRequest): Carrier {
  return request as FastifyRequest & Carrier
}

export function decorateSessions (fastify: FastifyInstance): void {
  fastify.decorateRequest(kContainer, null)
  fastify.decorateRequest(kBeforeFlush, null)
  fastify.decorateRequest('sessions', {
    getter (this: FastifyRequest): SessionContainer {
      const container = carrier(this)[kContainer]
      if (container !== null) return container
      throw new FST_SESSIONS_OPTIONS('request.sessions is not ready: a hook ran before fastify-sessions\' onRequest hook. Register fastify-sessions before adding that hook, or move the hook to preParsing, preValidation or preHandler')
    },
    setter (this: FastifyRequest, container: SessionContainer) {
      carrier(this)[kContainer] = container
    },
  })
}

/** The request's container, or null before the plugin's onRequest ran (or on a route it skipped). */
export function containerOf (request: FastifyRequest): SessionContainer | null {
  return carrier(request)[kContainer]
}

/** Runs `fn` in onSend before the sessions are written (sessionCompat's pending changes). */
export function onBeforeFlush (request: FastifyRequest, fn: () => void): void {
  const state = carrier(request);
  (state[kBeforeFlush] ??= []).push(fn)
}

export function beforeFlush (request: FastifyRequest): void {
  const state = carrier(request)
  const pending = state[kBeforeFlush]
  if (pending === null) return
  state[kBeforeFlush] = null
  for (const fn of pending) fn()
}
