import type { FastifyReply } from 'fastify'

/**
 * What a response that carries session data tells caches. `'private'` (the default): no shared
 * cache may store it, a browser may. `'no-store'`: no cache at all, as OWASP ASVS 5.0 14.3.2 asks
 * for sensitive data.
 */
export type CacheMode = 'private' | 'no-store'

function directives (reply: FastifyReply): string[] {
  const current = reply.getHeader('cache-control')
  return current === undefined ? [] : String(current).split(',').map((d) => d.trim()).filter((d) => d !== '')
}

function isShared (directive: string): boolean {
  const name = directive.toLowerCase()
  return name === 'public' || name.startsWith('s-maxage')
}

// `public` and `s-maxage` are gone already; the mode's directive leads, unless one as strict is there.
function restrict (reply: FastifyReply, kept: string[], mode: CacheMode): void {
  const lower = kept.map((d) => d.toLowerCase())
  if (!lower.includes('no-store') && (mode === 'no-store' || !lower.includes('private'))) kept.unshift(mode)
  reply.header('cache-control', kept.join(', '))
}

function addVary (reply: FastifyReply, vary: readonly string[]): void {
  const existing = reply.getHeader('vary')
  if (existing === undefined) {
    reply.header('vary', vary.length === 1 ? vary[0] as string : vary.join(', '))
    return
  }
  const present = String(existing).split(',').map((v) => v.trim().toLowerCase())
  if (present.includes('*')) return
  const missing = vary.filter((v) => !present.includes(v.toLowerCase()))
  if (missing.length > 0) reply.header('vary', String(existing) + ', ' + missing.join(', '))
}

/** A response that sets or clears a session: never stored by a shared cache (nor any, with no-store). */
export function sessionWritten (reply: FastifyReply, vary: readonly string[], mode: CacheMode): void {
  // Most routes set neither header: the directive and the names as they are, nothing to merge.
  if (reply.getHeader('cache-control') === undefined) reply.header('cache-control', mode)
  else restrict(reply, directives(reply).filter((d) => !isShared(d)), mode)
  addVary(reply, vary)
}

/**
 * A response whose handler read a session the client sent: it may be built from it. A route's
 * `public` or `s-maxage` gives way as above; with no-store the response is kept out of every cache.
 * By default a route that set no Cache-Control is left alone.
 */
export function sessionRead (reply: FastifyReply, vary: readonly string[], mode: CacheMode): void {
  const all = directives(reply)
  const kept = all.filter((d) => !isShared(d))
  if (mode === 'private' && kept.length === all.length) return
  restrict(reply, kept, mode)
  addVary(reply, vary)
}
