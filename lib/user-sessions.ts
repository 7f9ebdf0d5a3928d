import { hasSubjects } from '../storages/storage.js'
import { FST_SESSIONS_OPTIONS, FST_SESSIONS_STORAGE_UNAVAILABLE } from './errors.js'
import type { Provider } from './provider.js'
import type { Slot } from './slot.js'
import { handleOf, subjectOf, type SessionListing } from './subjects.js'

// A user's sessions: what `request.sessions.list / revoke / revokeAll` and a provider's
// `sessionsOf / revokeAll` do. Server-side, through the subject index (subjects.ts); client-side,
// through the not-before times of the `revocations` storage (revocations.ts).

/** Options of `request.sessions.revokeAll`. */
export interface RevokeAllOptions {
  /** Keep the session of the request that asks ("log out everywhere else"). */
  exceptCurrent?: boolean
}

/** Refuses, at registration, a provider whose `subject`, `metadata` or `revocations` cannot work. */
export function checkSubjectOptions (p: Provider): void {
  const label = `session "${p.name}"`
  const side = p.side
  if (p.subject === null) {
    if (p.metadata !== false) throw new FST_SESSIONS_OPTIONS(`${label}: metadata is kept with a subject's sessions; add the subject option, or remove metadata`)
    if (side.kind === 'client' && side.revocations !== null) throw new FST_SESSIONS_OPTIONS(`${label}: revocations needs the subject option, which says whom a session belongs to`)
    return
  }
  if (side.kind === 'server') {
    if (!hasSubjects(side.storage)) {
      throw new FST_SESSIONS_OPTIONS(`${label} has a subject, but its storage keeps no subject index (indexSubject, subjectEntries, unindexSubject), so its sessions could not be listed or logged out everywhere: use memoryStorage, directoryStorage, redisStorage (or cacheStorage over one of them), or give the storage that capability`)
    }
    return
  }
  if (p.metadata !== false) throw new FST_SESSIONS_OPTIONS(`${label} is client-side: no server keeps its sessions, so there is no metadata to keep; remove metadata`)
  if (side.revocations === null) {
    throw new FST_SESSIONS_OPTIONS(`${label} is client-side with a subject: add a revocations storage, where revokeAll records from when a subject's older values read as revoked`)
  }
  if (!side.envelope) throw new FST_SESSIONS_OPTIONS(`${label}: revocations compare a value's creation time, which only the envelope carries; keep envelope: true`)
}

function unavailable (p: Provider, error: unknown): Error {
  if (error instanceof Error && (error as { code?: unknown }).code === 'FST_SESSIONS_STORAGE_UNAVAILABLE') return error
  return new FST_SESSIONS_STORAGE_UNAVAILABLE(`the sessions of "${p.name}" could not be reached`, { cause: error })
}

function serverIndex (p: Provider, what: string): NonNullable<Extract<Provider['side'], { kind: 'server' }>['subjects']> {
  const side = p.side
  if (side.kind === 'server' && side.subjects !== null) return side.subjects
  if (side.kind === 'client') throw new FST_SESSIONS_OPTIONS(`session "${p.name}" is client-side: its sessions live in the browsers, which cannot be ${what}; revokeAll is what it offers`)
  throw new FST_SESSIONS_OPTIONS(`session "${p.name}" has no subject option: its sessions are not indexed by whom they belong to`)
}

/** The subject of the request's current session, or null. */
function currentSubject (p: Provider, slot: Slot | undefined): string | null {
  if (slot === undefined || !slot.current || p.subject === null) return null
  return subjectOf(p.subject, slot.value)
}

/** `sessionsOf(subject)`: every live session of a subject, none of them current. */
export async function sessionsOf (p: Provider, subject: string): Promise<SessionListing[]> {
  const index = serverIndex(p, 'listed')
  try {
    return await index.list(subject, null)
  } catch (error) {
    throw unavailable(p, error)
  }
}

/** `list`: the sessions of the current session's subject; none without a session or a subject. */
export async function listOf (p: Provider, slot: Slot | undefined): Promise<SessionListing[]> {
  const index = serverIndex(p, 'listed')
  const subject = currentSubject(p, slot)
  if (subject === null || slot?.kind !== 'server') return []
  try {
    return await index.list(subject, slot.key)
  } catch (error) {
    throw unavailable(p, error)
  }
}

/** `revoke`: ends the session of the current subject that `handle` names; 'current' when it was this one. */
export async function revokeOne (p: Provider, slot: Slot | undefined, handle: unknown): Promise<boolean | 'current'> {
  const index = serverIndex(p, 'revoked one by one')
  const subject = currentSubject(p, slot)
  if (subject === null || typeof handle !== 'string' || slot?.kind !== 'server') return false
  try {
    const ended = await index.revoke(subject, (key) => handleOf(key) === handle)
    slot.side.events.ended(ended)
    if (ended.length === 0) return false
    return slot.key !== null && ended.includes(slot.key) ? 'current' : true
  } catch (error) {
    throw unavailable(p, error)
  }
}

/** `revokeAll` of a subject, but the session under `except` (a storage key); client-side, from `now`. */
export async function revokeSubject (p: Provider, subject: string, except: string | null, now: number): Promise<void> {
  if (typeof subject !== 'string' || subject === '') throw new FST_SESSIONS_OPTIONS(`revokeAll of "${p.name}" needs a subject (a non-empty string)`)
  const side = p.side
  try {
    if (side.kind === 'client') {
      if (side.revocations === null) throw new FST_SESSIONS_OPTIONS(`session "${p.name}" has no revocations storage: client-side values cannot be revoked without one`)
      await side.revocations.list.revokeAll(subject, now)
    } else {
      side.events.ended(await serverIndex(p, 'revoked').revoke(subject, (key) => key !== except))
    }
  } catch (error) {
    if (error instanceof FST_SESSIONS_OPTIONS) throw error
    throw unavailable(p, error)
  }
}

/** `request.sessions.revokeAll`: whether there was a subject to revoke. */
export async function revokeAllOf (p: Provider, slot: Slot | undefined, exceptCurrent: boolean, now: number): Promise<boolean> {
  const subject = currentSubject(p, slot)
  if (subject === null) return false
  const except = exceptCurrent && slot?.kind === 'server' ? slot.key : null
  await revokeSubject(p, subject, except, now)
  return true
}

/** `watch`: calls `onEnded` once when the current server-side session ends; returns the unsubscribe. */
export function watchCurrent (p: Provider, slot: Slot | undefined, onEnded: () => void): () => void {
  if (p.side.kind === 'client') throw new FST_SESSIONS_OPTIONS(`session "${p.name}" is client-side: only server-side sessions can be watched`)
  if (typeof onEnded !== 'function') throw new FST_SESSIONS_OPTIONS('watch needs a function to call when the session ends')
  if (slot?.kind !== 'server' || slot.key === null || !slot.current) return () => {}
  return p.side.events.watch(slot.key, onEnded)
}
