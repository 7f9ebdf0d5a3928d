import type { FastifyBaseLogger, FastifyReply } from 'fastify'
import { FST_SESSIONS_STORAGE_UNAVAILABLE } from '../errors.js'
import { optionsError } from '../options.js'
import { findOld, type MigratedSession, type SessionMigration } from './migration.js'

// The request-time side of `migrate`: the container asks `moveIn` on a request that carries no
// session of a provider, and `retireAfter` once the writes of onSend succeeded.

/** A session moved in this request: the old cookie to expire and the old session to end. */
export interface Moved {
  migration: SessionMigration<unknown>
  found: MigratedSession<unknown>
}

/** Checks a provider's `migrate` list at the factory. */
export function checkMigrations (migrations: ReadonlyArray<SessionMigration<unknown>> | undefined, name: string, cookie: boolean, label: string): void {
  for (const migration of migrations ?? []) {
    if (typeof migration?.read !== 'function' || typeof migration.cookieName !== 'string' || typeof migration.expireCookie !== 'string') {
      throw optionsError(label, 'migrate takes what fromSecureSession() and fromConnectSession() make')
    }
    if (cookie && migration.cookieName === name) {
      throw optionsError(label, `migrate reads the cookie "${name}", this provider's own name: give the provider another name, so the old cookie can be expired without the new one`)
    }
  }
}

/**
 * The old session the request carries, mapped, or null. `set` is the container's (it checks the
 * payload against the schema); a payload it refuses is not migrated, with a log line without values.
 */
export async function moveIn (migrations: ReadonlyArray<SessionMigration<unknown>>, cookieHeader: string, now: number, log: FastifyBaseLogger, set: (payload: unknown) => void): Promise<Moved | null> {
  let result
  try {
    result = await findOld(migrations, cookieHeader, now, log)
  } catch (error) {
    log.error({ storageError: { name: (error as Error)?.name, message: (error as Error)?.message } }, 'session migration: the old session store failed')
    throw new FST_SESSIONS_STORAGE_UNAVAILABLE('the old session store of a migration could not be read')
  }
  if (result === null) return null
  try {
    set(result.found.payload)
  } catch (error) {
    log.warn({ migration: result.migration.cookieName, err: { code: (error as { code?: unknown })?.code } }, `session migration from cookie "${result.migration.cookieName}": map's payload does not fit the provider's schema; the session is not migrated`)
    return null
  }
  return result
}

/** The old cookies expired and the old sessions ended, once the new sessions are stored. */
export function retireAfter (pending: Array<Promise<void>> | undefined, moved: readonly Moved[], reply: FastifyReply, log: FastifyBaseLogger): Array<Promise<void>> {
  const stored = pending === undefined ? Promise.resolve() : Promise.all(pending)
  return [stored.then(async () => {
    await Promise.all(moved.map(async ({ migration, found }) => {
      reply.header('set-cookie', migration.expireCookie)
      try {
        await found.retire?.()
      } catch (error) {
        // The user is already moved; the old entry then lives until its own expiry.
        log.warn({ migration: migration.cookieName, err: { name: (error as Error)?.name } }, `session migration from cookie "${migration.cookieName}": the old session could not be ended`)
      }
    }))
  })]
}
