import Type, { type Static, type TSchema } from 'typebox'
import { readFields } from './ktor-read.js'
import { ANY, compile, isObject, LABEL, objectNode, type Order } from './ktor-schema.js'
import { mismatch, Unfaithful, writeFields } from './ktor-write.js'
import { optionsError, parseOptionsWithDefaults, withDefault } from './options.js'
import type { SessionSerializer } from './serializer.js'

export { decodeQueryComponent, encodeQueryComponent, kotlinDouble } from './ktor-text.js'

// Ktor's tagged query format (SessionSerializerReflection, Ktor 1.x/2.x's default, and
// KotlinxBackwardCompatibleSessionSerializer): an object is a form-encoded list of
// `name=#<tag><value>`, lists and maps are encoded inside a value, nested objects recurse.
// The text layer is ktor-text.ts, the schema's tree ktor-schema.ts, writing and reading
// ktor-write.ts and ktor-read.ts.

export const KtorSerializerOptionsSchema = Type.Object({
  /** `sorted` (Ktor's reflection serializer, the 1.x/2.x default) or `declaration` (Ktor's backward-compatible serializer). */
  order: withDefault(Type.Union([Type.Literal('sorted'), Type.Literal('declaration')]), 'sorted'),
}, { additionalProperties: false })

export type KtorSerializerOptions = Static<typeof KtorSerializerOptionsSchema>

// Whether a value read back is the value written.
function same (a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => same(item, b[i]))
  }
  if (isObject(a) && isObject(b) && !Array.isArray(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined)
    const kb = Object.keys(b).filter((k) => b[k] !== undefined)
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && same(a[k], b[k]))
  }
  return false
}

/**
 * Ktor's tagged query format, driven by a TypeBox schema: `order: 'sorted'` (default) writes as
 * Ktor 1.x/2.x's reflection serializer, `'declaration'` as Ktor's backward-compatible serializer;
 * either reads both. Strings `#s`, integers `#i` (`#l` beyond 32 bits or with `format: 'int64'`),
 * numbers `#f` (Kotlin's Double.toString), booleans `#bot`/`#bof`, null `#n`, arrays `#cl`,
 * records `#m`, nested objects `##`. Ktor's format cannot carry some values (`&` inside a list
 * item, lists of lists): `serialize` checks that what it writes reads back the same, and throws
 * otherwise instead of writing a cookie that would not read.
 */
export function ktorSerializer<S extends TSchema> (schema: S, options: KtorSerializerOptions = {}): SessionSerializer<Static<S>> {
  const opts = parseOptionsWithDefaults(KtorSerializerOptionsSchema, options, LABEL)
  if (!isObject(schema)) throw optionsError(LABEL, 'a TypeBox schema is required')
  const order: Order = opts.order
  const root = compile(schema, order)
  const isObjectRoot = root.kind === 'object' || (root.kind === 'any' && root.members.some((m) => m.node.kind === 'object'))
  if (!isObjectRoot) throw optionsError(LABEL, 'the schema must be an object (Ktor sessions are classes)')

  function deserialize (text: string): Static<S> {
    if (typeof text !== 'string') throw new Error('Bad serialized value')
    return readFields(root.kind === 'object' ? root : ANY, text, 0) as Static<S>
  }

  return {
    serialize (session) {
      const node = objectNode(root, session)
      let text: string
      try {
        if (node.kind !== 'object') throw mismatch(session, 'an object', '')
        text = writeFields(node, session, order, '')
      } catch (err) {
        if (err instanceof Unfaithful) throw new Error(`${LABEL}: ${err.message}`)
        // encodeURI throws URIError on a lone surrogate, which UTF-8 cannot carry.
        if (err instanceof URIError) throw new Error(`${LABEL}: a string holds an unpaired surrogate, which UTF-8 cannot carry`)
        throw err
      }
      let back: unknown
      try {
        back = deserialize(text)
      } catch {
        back = undefined
      }
      if (!same(session, back)) {
        throw new Error(`${LABEL}: Ktor's format cannot carry this value so that it reads back the same (an '&' in a list or map item, an '=' in a map key, or a list or object inside a list or map)`)
      }
      return text
    },
    deserialize,
  }
}
