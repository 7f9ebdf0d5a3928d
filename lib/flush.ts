import type { FastifyBaseLogger, FastifyReply } from 'fastify'
import { sessionRead, sessionWritten, type CacheMode } from './cache-headers.js'
import type { Provider } from './provider.js'
import type { ClientSlot, ServerSlot, Slot } from './slot.js'
import type { CookieRequest } from './transport.js'

// What onSend does with the slots of a request: the writes each changed session needs, then the
// session headers, once every storage write has succeeded.

/** One session header to send: the provider, its value (null: expire it) and its absolute expiry. */
export type Line = [Provider, string | null, number | null]

/** Starts the storage work of every changed session and collects the headers they will need. */
export function collect (providers: readonly Provider[], slots: ReadonlyArray<Slot | undefined>, now: number, lines: Line[], log: FastifyBaseLogger): Array<Promise<void>> | undefined {
  let pending: Array<Promise<void>> | undefined
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i]
    if (slot === undefined) continue
    const writing = slot.kind === 'server'
      ? flushServer(providers[i] as Provider, slot, now, lines, log)
      : flushClient(providers[i] as Provider, slot, now, lines, log)
    if (writing !== undefined) (pending ??= []).push(writing)
  }
  return pending
}

function flushServer (p: Provider, slot: ServerSlot, now: number, lines: Line[], log: FastifyBaseLogger): Promise<void> | undefined {
  if (slot.state === 'set') return store(p, slot, now, lines, log)
  if (slot.state === 'cleared') {
    if (slot.incoming) lines.push([p, null, null])
    if (slot.stale !== null) return slot.side.invalidate(slot.stale, log)
  } else if (slot.state === 'loaded' && slot.refresh && slot.stamp !== null && slot.key !== null) {
    return slot.side.refresh(slot, slot.stamp, slot.key, now, log)
  }
  return undefined
}

function flushClient (p: Provider, slot: ClientSlot, now: number, lines: Line[], log: FastifyBaseLogger): undefined {
  if (slot.state === 'set') {
    lines.push([p, slot.out, slot.stamp === null ? null : slot.stamp.expires])
  } else if (slot.state === 'cleared') {
    if (slot.incoming) lines.push([p, null, null])
  } else if (slot.state === 'loaded' && slot.refresh && slot.stamp !== null) {
    // An idle refresh re-issues the value; a failure costs the refresh, not the request.
    const stamp = p.clock.seen(slot.stamp, now)
    try {
      lines.push([p, slot.side.write(slot.text, stamp), stamp.expires])
    } catch (error) {
      log.warn({ session: p.name, err: error }, 'session idle refresh failed')
    }
  }
  return undefined
}

/** Writes a set server-side session to its storage; its header joins `lines`. */
export async function store (p: Provider, slot: ServerSlot, now: number, lines: Line[], log: FastifyBaseLogger): Promise<void> {
  const stamp = slot.stamp
  // `set` and `regenerate` leave a stamp on every set session.
  if (stamp === null) throw new TypeError(`session "${p.name}" was set without its times`)
  lines.push([p, await slot.side.write(slot, stamp, now, log), stamp.expires])
}

/** Adds the session headers, and what they tell caches. */
export function emit (reply: FastifyReply, request: CookieRequest, lines: readonly Line[], now: number, mode: CacheMode): void {
  if (lines.length === 0) return
  const vary: string[] = []
  for (const [p, value, expires] of lines) {
    const transport = p.codec.transport
    transport.write(reply, request, value, expires, now)
    if (!vary.includes(transport.vary)) vary.push(transport.vary)
  }
  sessionWritten(reply, vary, mode)
}

/** The handler read sessions the client sent: the response may be personal (see cache-headers.ts). */
export function readHeaders (reply: FastifyReply, providers: readonly Provider[], slots: ReadonlyArray<Slot | undefined>, mode: CacheMode): void {
  const vary: string[] = []
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i]
    if (slot === undefined || !slot.read) continue
    const name = (providers[i] as Provider).codec.transport.vary
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
