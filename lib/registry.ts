import type { FastifyRequest } from 'fastify'
import type { CacheMode } from './cache-headers.js'
import type { Provider, SessionProvider } from './provider.js'
import type { InvalidReason } from './slot.js'

/** What the plugin shares with every request: providers, lookups, and reporting. */
export interface Registry {
  readonly providers: readonly Provider[]
  /** What responses that carry session data tell caches. */
  readonly cacheControl: CacheMode
  /** Provider objects and names to their index. */
  readonly lookup: ReadonlyMap<unknown, number>
  /** Which providers a route loads: null for all. */
  selection (request: FastifyRequest): readonly boolean[] | null
  invalid (reason: InvalidReason, request: FastifyRequest, provider: Provider): void
}

export type OnInvalid = (reason: InvalidReason, request: FastifyRequest, provider: SessionProvider<unknown>) => void

export function makeRegistry (providers: readonly Provider[], cacheControl: CacheMode, onInvalid: OnInvalid | undefined): Registry {
  const lookup = new Map<unknown, number>()
  providers.forEach((p, index) => lookup.set(p, index).set(p.name, index))
  // Route selections are few and fixed: resolve each config list once.
  const selections = new WeakMap<readonly string[], readonly boolean[]>()
  const none: readonly boolean[] = providers.map(() => false)
  return {
    providers,
    cacheControl,
    lookup,
    selection (request) {
      const config = request.routeOptions.config?.sessions
      if (config === undefined) return null
      if (config === false) return none
      let selection = selections.get(config)
      if (selection === undefined) {
        selection = providers.map((p) => config.includes(p.name))
        selections.set(config, selection)
      }
      return selection
    },
    invalid (reason, request, provider) {
      request.log.debug({ session: provider.name, reason }, 'session ignored')
      if (onInvalid === undefined) return
      try {
        onInvalid(reason, request, provider)
      } catch (error) {
        request.log.error({ session: provider.name, err: error }, 'onInvalid threw')
      }
    },
  }
}
