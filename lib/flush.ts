import type { FastifyBaseLogger, FastifyReply } from 'fastify'
import { sessionRead, sessionWritten, type CacheMode } from './cache-headers.js'
import { FST_SESSIONS_ALREADY_SENT } from './errors.js'
import type { Provider } from './provider.js'
import type { ClientSlot, ServerSlot, Slot } from './slot.js'
import type { CookieRequest, Outgoing } from './transport.js'

// What onSend does with the slots of a request: the writes each changed session needs, then the
// session headers, once every storage write has succeeded.

/** Starts the storage work of every changed session and collects the headers they will need. */
export function collect (slots: ReadonlyArray<Slot | undefined>, now: number, out: Outgoing[], log: FastifyBaseLogger): Array<Promise<void>> | undefined {
  let pending: Array<Promise<void>> | undefined
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i]
    if (slot === undefined) continue
    const writing = slot.kind === 'server' ? flushServer(slot, now, out, log) : flushClient(slot, now, out, log)
    if (writing !== undefined) (pending ??= []).push(writing)
  }
  return pending
}

function flushServer (slot: ServerSlot, now: number, out: Outgoing[], log: FastifyBaseLogger): Promise<void> | undefined {
  if (slot.state === 'set') return slot.side.write(slot, now, log, out)
  if (slot.state === 'cleared') {
    if (slot.incoming) out.push([slot.side.codec.transport, null, null])
    if (slot.stale !== null) return slot.side.invalidate(slot.stale, log, slot.subject)
  } else if (slot.state === 'loaded' && slot.refresh) {
    return slot.side.refresh(slot, now, log)
  }
  return undefined
}

function flushClient (slot: ClientSlot, now: number, out: Outgoing[], log: FastifyBaseLogger): undefined {
  const transport = slot.side.codec.transport
  if (slot.state === 'set') {
    out.push([transport, slot.out, slot.stamp === null ? null : slot.stamp.expires])
  } else if (slot.state === 'cleared') {
    if (slot.incoming) out.push([transport, null, null])
  } else if (slot.state === 'loaded' && slot.refresh && slot.stamp !== null) {
    // An idle refresh re-issues the value; a failure costs the refresh, not the request.
    const stamp = slot.side.clock.seen(slot.stamp, now)
    try {
      out.push([transport, slot.side.write(slot.text, stamp), stamp.expires])
    } catch (error) {
      log.warn({ session: transport.name, err: error }, 'session idle refresh failed')
    }
  }
  return undefined
}

/**
 * `save` of a server-side session: its change written now. Resolves the headers the response
 * still owes for it, or null when nothing was written.
 */
export async function saveNow (slot: ServerSlot, writable: boolean, log: FastifyBaseLogger): Promise<Outgoing[] | null> {
  if (slot.state === 'cleared') {
    // The id dies now; the cookie, if it can still be expired, is expired with the response.
    const keys = slot.stale
    slot.stale = null
    if (keys !== null) await slot.side.invalidate(keys, log, slot.subject)
    return null
  }
  if (slot.state !== 'set') return null
  if (slot.id === null && !writable) throw new FST_SESSIONS_ALREADY_SENT(slot.side.codec.name)
  const out: Outgoing[] = []
  await slot.side.write(slot, Date.now(), log, out)
  slot.state = 'loaded'
  slot.refresh = false
  return out
}

/** Adds the session headers, and what they tell caches. */
export function emit (reply: FastifyReply, request: CookieRequest, out: readonly Outgoing[], now: number, mode: CacheMode): void {
  if (out.length === 0) return
  const vary: string[] = []
  for (const [transport, value, expires] of out) {
    transport.write(reply, request, value, expires, now)
    if (!vary.includes(transport.vary)) vary.push(transport.vary)
  }
  sessionWritten(reply, vary, mode)
}

/** The handler read sessions the client sent: the response may be personal (see cache-headers.ts). */
export function readHeaders (reply: FastifyReply, slots: ReadonlyArray<Slot | undefined>, mode: CacheMode): void {
  const vary: string[] = []
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i]
    if (slot === undefined || !slot.read) continue
    const name = slot.side.codec.transport.vary
    if (!vary.includes(name)) vary.push(name)
  }
  sessionRead(reply, vary, mode)
}

/** The names of sessions changed but neither sent nor saved (a hijacked reply), for the log. */
export function unsent (providers: readonly Provider[], slots: ReadonlyArray<Slot | undefined>, owed: readonly string[]): string[] {
  const names: string[] = []
  slots.forEach((slot, index) => {
    if (slot === undefined) return
    const cleared = slot.state === 'cleared' && (slot.incoming || (slot.kind === 'server' && slot.stale !== null))
    if (slot.state === 'set' || cleared) names.push(`"${(providers[index] as Provider).name}"`)
  })
  for (const name of owed) if (!names.includes(name)) names.push(name)
  return names
}
