import type { SessionContainer } from '../lib/container.js'

// What registering the plugin adds to Fastify's types.
declare module 'fastify' {
  interface FastifyRequest {
    /** This request's sessions: get, set, clear, getOrSet, regenerate, reload, save, id. */
    sessions: SessionContainer
  }
  interface FastifyContextConfig {
    /** `false`: load no session on this route; a list of names: load only those. */
    sessions?: false | readonly string[]
  }
}

export {}
