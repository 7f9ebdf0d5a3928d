// The memory figure: heap bytes per session with 100 000 sessions in memoryStorage. Run with
// --expose-gc; prints one Markdown paragraph. Each entry is made as the plugin makes it when a
// session is set (provider serializer, storageKey, formatRecord, storage.write), without HTTP:
// Fastify's inject retains kilobytes per request until the app closes, which would drown the figure.
import Type from 'typebox'
import { defaultIdentity, storageKey } from '../lib/identity.js'
import { formatRecord } from '../lib/record.js'
import { jsonSerializer } from '../lib/serializer.js'
import { loadStorage } from './scenarios.js'

const SESSIONS = 100_000
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with --expose-gc')

function used (): number {
  gc?.()
  gc?.()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

const memoryStorage = await loadStorage('memory', 'memoryStorage')
if (memoryStorage === undefined) {
  process.stdout.write('Memory: memoryStorage is not there yet.\n')
  process.exit(0)
}

const serializer = jsonSerializer(Type.Object({ username: Type.String(), count: Type.Integer() }))
const payloadBytes = serializer.serialize({ username: 'bench', count: 0 }).length

const beforeStorage = used()
const storage = memoryStorage({ maxEntries: SESSIONS })
const fixed = used() - beforeStorage

const before = used()
const now = Date.now()
const expires = now + 7 * 24 * 3600 * 1000
for (let i = 0; i < SESSIONS; i++) {
  const text = serializer.serialize({ username: 'bench', count: 0 })
  const record = formatRecord({ stamp: { created: now, seen: now, expires }, version: 1, payload: text })
  await storage.write(storageKey('S', defaultIdentity()), record, expires)
}
const after = used()
const held = (storage as { size?: number }).size ?? SESSIONS
if (held !== SESSIONS) throw new Error(`the storage holds ${held} sessions, not ${SESSIONS}`)
const perSession = (after - before) / SESSIONS
await storage.close?.()

process.stdout.write(
  `Memory: ${Math.round(perSession)} bytes of heap per session with ${SESSIONS.toLocaleString('en')} sessions in memoryStorage ` +
  `(payload ${payloadBytes} bytes of JSON: ${Math.round(perSession - payloadBytes)} bytes beyond the payload), ` +
  `plus ${Math.round(fixed / SESSIONS)} bytes per slot allocated up front for maxEntries.\n`)
