import Type, { type Static, type TSchema } from 'typebox'
import Value from 'typebox/value'
import { decodeQuery, encodeUri } from './cookie-encoding.js'
import { isPlainObject, optionsError, parseOptionsWithDefaults, withDefault } from './options.js'
import type { SessionSerializer } from './serializer.js'

// Ktor's tagged query format (SessionSerializerReflection, Ktor 1.x/2.x's default, and
// KotlinxBackwardCompatibleSessionSerializer): an object is a form-encoded list of
// `name=#<tag><value>`, lists and maps are encoded inside a value, nested objects recurse.

const LABEL = 'ktorSerializer()'

export const KtorSerializerOptionsSchema = Type.Object({
  /** `sorted` (Ktor's reflection serializer, the 1.x/2.x default) or `declaration` (Ktor's backward-compatible serializer). */
  order: withDefault(Type.Union([Type.Literal('sorted'), Type.Literal('declaration')]), 'sorted'),
}, { additionalProperties: false })

export type KtorSerializerOptions = Static<typeof KtorSerializerOptionsSchema>

type KeyKind = 'string' | 'integer' | 'number'
interface Prop { name: string, lower: string, node: Node }
type Node =
  | { kind: 'string' | 'number' | 'boolean' | 'null' }
  | { kind: 'integer', long: boolean }
  | { kind: 'array', items: Node }
  | { kind: 'record', key: KeyKind, value: Node }
  | { kind: 'object', props: Prop[] }
  | { kind: 'any', members: Array<{ schema: TSchema, node: Node }> }

const ANY: Node = { kind: 'any', members: [] }
const INT_MIN = -2147483648
const INT_MAX = 2147483647
const LONG_MIN = -(2n ** 63n)
const LONG_MAX = 2n ** 63n - 1n
const QUERY_LIMIT = 1000
const MAX_DEPTH = 32
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])
const INTEGER_TEXT = /^[+-]?\d+$/
// Linear: `\d+\.?\d*` would backtrack quadratically on a long run of digits that fails to match.
const DECIMAL_TEXT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/
const DOUBLE_TEXT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?[fFdD]?$/
// TypeBox's key patterns for Record(Type.Integer(), …) and Record(Type.Number(), …).
const INTEGER_KEY = '^-?(?:0|[1-9][0-9]*)$'
const NUMBER_KEY = '^-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?$'

// ---- Ktor's URL codecs (ktor-http Codecs.kt) ----

/**
 * `encodeURLQueryComponent(encodeFull = false, spaceToPlus = false)`: keeps letters, digits and
 * `:/?#[]@!$&'()*,;=-._~+`; `encodeURI` keeps the same set except `[` and `]`.
 */
export function encodeQueryComponent (value: string): string {
  return encodeURI(value).replace(/%5B|%5D/g, (m) => m === '%5B' ? '[' : ']')
}

/** `decodeURLQueryComponent(plusIsSpace)`: throws on a truncated or non-hex escape, as Ktor does. */
export function decodeQueryComponent (text: string, plusIsSpace: boolean): string {
  const out = decodeQuery(text, plusIsSpace)
  if (out === null) throw new Error('bad escape')
  return out
}

const WHITESPACE = /\s/

/**
 * Ktor's `parseQueryString`: at most 1000 pairs, names and values trimmed, names decoded without
 * and values with `+` as space; a name without `=` has no value. Names are case-insensitive and
 * the first value of a name wins, as `Parameters.get` gives it.
 */
function parseQuery (text: string): Map<string, { name: string, value: string }> {
  const out = new Map<string, { name: string, value: string }>()
  let count = 0
  let start = 0
  while (start <= text.length && count < QUERY_LIMIT) {
    let end = text.indexOf('&', start)
    if (end < 0) end = text.length
    const eq = text.indexOf('=', start)
    if (eq >= 0 && eq < end) {
      const name = decodeQueryComponent(trim(text.slice(start, eq)), false)
      const value = decodeQueryComponent(trim(text.slice(eq + 1, end)), true)
      const key = name.toLowerCase()
      if (name.length > 0 && !out.has(key)) out.set(key, { name, value })
    }
    count++
    start = end + 1
  }
  return out
}

function trim (text: string): string {
  let a = 0
  let b = text.length
  while (a < b && WHITESPACE.test(text[a] as string)) a++
  while (b > a && WHITESPACE.test(text[b - 1] as string)) b--
  return text.slice(a, b)
}

// ---- numbers ----

/** Kotlin/Java `Double.toString` (JDK 19+): `3.0`, `0.001`, `1.0E7`, `1.0E-4`, shortest round-trip digits. */
export function kotlinDouble (x: number): string {
  if (Number.isNaN(x)) return 'NaN'
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity'
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0'
  const sign = x < 0 ? '-' : ''
  const abs = Math.abs(x)
  const [mantissa = '', exponent = '0'] = abs.toExponential().split('e')
  const digits = mantissa.replace('.', '')
  const exp = Number(exponent)
  if (abs >= 1e-3 && abs < 1e7) {
    if (exp < 0) return sign + '0.' + '0'.repeat(-exp - 1) + digits
    const whole = digits.slice(0, exp + 1).padEnd(exp + 1, '0')
    const fraction = digits.slice(exp + 1)
    return sign + whole + '.' + (fraction === '' ? '0' : fraction)
  }
  // The d.ddd form shows two digits at least, and Java picks the two closest to the exact value:
  // Double.MIN_VALUE is 4.9E-324 where the shortest digits give 5E-324.
  const shown = digits.length > 1 ? digits : (abs.toExponential(1).split('e')[0] as string).replace('.', '')
  return sign + shown[0] + '.' + shown.slice(1) + 'E' + (digits.length > 1 ? exp : Number(abs.toExponential(1).split('e')[1]))
}

function readInt (text: string): number {
  if (!INTEGER_TEXT.test(text)) throw new Error('bad #i value')
  const n = Number(text)
  if (n < INT_MIN || n > INT_MAX) throw new Error('#i value out of range')
  return n
}

function readLong (text: string): number {
  if (!INTEGER_TEXT.test(text)) throw new Error('bad integer value')
  const big = BigInt(text)
  if (big < LONG_MIN || big > LONG_MAX) throw new Error('integer out of range')
  const n = Number(big)
  if (!Number.isSafeInteger(n)) throw new Error('integer beyond 2^53, which a JavaScript number cannot hold exactly')
  return n
}

function readDouble (text: string, grammar: RegExp): number {
  const trimmed = trim(text)
  if (!grammar.test(trimmed)) throw new Error('bad number value')
  const n = Number.parseFloat(trimmed)
  if (!Number.isFinite(n)) throw new Error('number out of range')
  return n
}

// ---- schema → node ----

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function compile (schema: unknown, order: 'sorted' | 'declaration'): Node {
  if (!isObject(schema)) return ANY
  if ('const' in schema || 'enum' in schema) return ANY
  const union = schema.anyOf ?? schema.oneOf
  if (Array.isArray(union)) {
    return { kind: 'any', members: union.filter(isObject).map((member) => ({ schema: member as TSchema, node: compile(member, order) })) }
  }
  switch (schema.type) {
    case 'string': return { kind: 'string' }
    case 'integer': return { kind: 'integer', long: schema.format === 'int64' }
    case 'number': return { kind: 'number' }
    case 'boolean': return { kind: 'boolean' }
    case 'null': return { kind: 'null' }
    case 'array':
      return isObject(schema.items) ? { kind: 'array', items: compile(schema.items, order) } : ANY
    case 'object': {
      const properties = schema.properties
      if (isObject(properties)) {
        const props = Object.keys(properties).map((name) => {
          if (name === '__proto__') throw optionsError(LABEL, 'a schema property may not be named "__proto__"')
          return { name, lower: name.toLowerCase(), node: compile(properties[name], order) }
        })
        // Kotlin's sortedBy { it.name } compares UTF-16 code units, as JavaScript's < does.
        if (order === 'sorted') props.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
        return { kind: 'object', props }
      }
      if (isObject(schema.patternProperties)) {
        const patterns = Object.keys(schema.patternProperties)
        if (patterns.length === 1) {
          const pattern = patterns[0] as string
          const key: KeyKind = pattern === INTEGER_KEY ? 'integer' : pattern === NUMBER_KEY ? 'number' : 'string'
          return { kind: 'record', key, value: compile(schema.patternProperties[pattern], order) }
        }
      }
      if (isObject(schema.additionalProperties)) {
        return { kind: 'record', key: 'string', value: compile(schema.additionalProperties, order) }
      }
      return ANY
    }
    default:
      return ANY
  }
}

// ---- writing ----

class Unfaithful extends Error {}

function where (path: string): string {
  return path === '' ? 'the top level' : path
}

function mismatch (value: unknown, expected: string, path: string): Unfaithful {
  const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'object' ? `a ${value.constructor?.name ?? 'object'}` : `a ${typeof value}`
  return new Unfaithful(`${got} at ${where(path)} where the schema has ${expected}`)
}

function writeInteger (value: unknown, long: boolean, path: string): string {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw mismatch(value, 'an integer', path)
  if (!Number.isSafeInteger(value)) throw new Unfaithful(`the integer at ${where(path)} is beyond 2^53, which a JavaScript number cannot hold exactly`)
  const n = value === 0 ? 0 : value // Kotlin has no -0 integer
  return (long || n < INT_MIN || n > INT_MAX ? '#l' : '#i') + String(n)
}

function writeDouble (value: unknown, path: string): string {
  if (typeof value !== 'number') throw mismatch(value, 'a number', path)
  if (!Number.isFinite(value)) throw new Unfaithful(`${value} at ${where(path)} is not a finite number`)
  return '#f' + kotlinDouble(value)
}

function writeList (items: unknown, node: Node, order: Order, path: string): string {
  if (!Array.isArray(items)) throw mismatch(items, 'an array', path)
  const parts: string[] = []
  for (let i = 0; i < items.length; i++) {
    if (!(i in items) || items[i] === undefined) throw new Unfaithful(`undefined at ${path}[${i}] has no form in Ktor's format`)
    parts.push(encodeQueryComponent(write(node, items[i], order, `${path}[${i}]`)))
  }
  return '#cl' + encodeQueryComponent(parts.join('&'))
}

function writeKey (key: string, kind: KeyKind, path: string): string {
  if (kind === 'string') return '#s' + key
  const n = Number(key)
  return kind === 'integer' ? writeInteger(n, false, path) : writeDouble(n, path)
}

function writeRecord (node: Extract<Node, { kind: 'record' }>, value: unknown, order: Order, path: string): string {
  if (!isPlainObject(value)) throw mismatch(value, 'a record', path)
  const parts: string[] = []
  for (const key of Object.keys(value)) {
    const item = value[key]
    if (item === undefined) throw new Unfaithful(`undefined at ${path}.${key} has no form in Ktor's format`)
    parts.push(encodeQueryComponent(writeKey(key, node.key, `${path}.${key}`)) + '=' +
      encodeQueryComponent(write(node.value, item, order, `${path}.${key}`)))
  }
  return '#m' + encodeQueryComponent(parts.join('&'))
}

type Order = 'sorted' | 'declaration'

// An object's body: Ktor's formUrlEncode of (name, tagged value) pairs.
function writeFields (node: Extract<Node, { kind: 'object' }>, value: unknown, order: Order, path: string): string {
  if (!isPlainObject(value)) throw mismatch(value, 'an object', path)
  for (const key of Object.keys(value)) {
    if (value[key] !== undefined && !node.props.some((p) => p.name === key)) {
      throw new Unfaithful(`property "${key}" at ${where(path)} is not declared in the schema, and a Ktor class has only its declared properties`)
    }
  }
  const parts: string[] = []
  for (const prop of node.props) {
    const item = value[prop.name]
    if (item === undefined || !Object.hasOwn(value, prop.name)) continue
    parts.push(encodeUri(prop.name) + '=' + encodeUri(write(prop.node, item, order, path === '' ? prop.name : `${path}.${prop.name}`)))
  }
  return parts.join('&')
}

// Without a schema to follow (unions, literals, unknown): tags from the value itself.
function writeLoose (value: unknown, order: Order, path: string): string {
  switch (typeof value) {
    case 'string': return '#s' + value
    case 'boolean': return value ? '#bot' : '#bof'
    case 'number': return Number.isInteger(value) ? writeInteger(value, false, path) : writeDouble(value, path)
    case 'object': {
      if (value === null) return '#n'
      if (Array.isArray(value)) return writeList(value, ANY, order, path)
      if (!isPlainObject(value)) break
      const keys = Object.keys(value).filter((k) => value[k] !== undefined)
      if (order === 'sorted') keys.sort((a, b) => a < b ? -1 : a > b ? 1 : 0)
      return '##' + keys.map((k) => encodeUri(k) + '=' + encodeUri(writeLoose(value[k], order, `${path}.${k}`))).join('&')
    }
  }
  throw new Unfaithful(`${mismatch(value, 'a value', path).message.replace(/ where .*$/, '')} has no form in Ktor's format`)
}

function write (node: Node, value: unknown, order: Order, path: string): string {
  switch (node.kind) {
    case 'string':
      if (typeof value !== 'string') throw mismatch(value, 'a string', path)
      return '#s' + value
    case 'integer': return writeInteger(value, node.long, path)
    case 'number': return writeDouble(value, path)
    case 'boolean':
      if (typeof value !== 'boolean') throw mismatch(value, 'a boolean', path)
      return value ? '#bot' : '#bof'
    case 'null':
      if (value !== null) throw mismatch(value, 'null', path)
      return '#n'
    case 'array': return writeList(value, node.items, order, path)
    case 'record': return writeRecord(node, value, order, path)
    case 'object': return '##' + writeFields(node, value, order, path)
    case 'any': {
      if (value === null) return '#n'
      for (const member of node.members) {
        if (member.node.kind !== 'any' && Value.Check(member.schema, value)) return write(member.node, value, order, path)
      }
      return writeLoose(value, order, path)
    }
  }
}

// ---- reading ----

function safeKey (key: string): string {
  if (FORBIDDEN_KEYS.has(key)) throw new Error('a key names an object prototype')
  return key
}

function readList (node: Node, text: string, depth: number): unknown[] {
  const item = node.kind === 'array' ? node.items : ANY
  return decodeQueryComponent(text, false).split('&').filter((s) => s.length > 0)
    .map((s) => read(item, decodeQueryComponent(s, false), depth + 1))
}

function readMap (node: Node, text: string, depth: number): Record<string, unknown> {
  const value = node.kind === 'record' ? node.value : ANY
  const out: Record<string, unknown> = {}
  for (const entry of decodeQueryComponent(text, false).split('&')) {
    if (entry.length === 0) continue
    const eq = entry.indexOf('=')
    // Kotlin's substringBefore/After('=') give the whole entry when it has no '='.
    const key = read(ANY, decodeQueryComponent(eq < 0 ? entry : entry.slice(0, eq), false), depth + 1)
    if (typeof key !== 'string' && typeof key !== 'number') throw new Error('a map key must be a string or a number')
    out[safeKey(String(key))] = read(value, decodeQueryComponent(eq < 0 ? entry : entry.slice(eq + 1), false), depth + 1)
  }
  return out
}

function readFields (node: Node, text: string, depth: number): Record<string, unknown> {
  const bundle = parseQuery(text)
  const out: Record<string, unknown> = {}
  if (node.kind === 'object') {
    // Keys the class does not declare are ignored, as Ktor ignores them.
    for (const prop of node.props) {
      const entry = bundle.get(prop.lower)
      if (entry !== undefined) out[prop.name] = read(prop.node, entry.value, depth + 1)
    }
    return out
  }
  // Without a schema: every pair, under the first spelling of its name.
  for (const entry of bundle.values()) out[safeKey(entry.name)] = read(ANY, entry.value, depth + 1)
  return out
}

// The object schema a union root writes `value` with: the first member it matches.
function objectNode (node: Node, value: unknown): Node {
  if (node.kind !== 'any') return node
  return node.members.find((m) => m.node.kind === 'object' && Value.Check(m.schema, value))?.node ?? node
}

// Tag-driven, as Ktor's deserializeValue; the schema picks property names and collection items.
function read (node: Node, text: string, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new Error('nested too deeply')
  if (text.charCodeAt(0) !== 35) throw new Error('Bad serialized value')
  switch (text[1]) {
    case undefined:
    case 'n': return null
    case 'i': return readInt(text.slice(2))
    case 'l': return readLong(text.slice(2))
    case 'f': return readDouble(text.slice(2), DOUBLE_TEXT)
    case 'b':
      switch (text[2]) {
        case 'o':
          if (text[3] === 't') return true
          if (text[3] === 'f') return false
          break
        case 'd': return readDouble(text.slice(3), DECIMAL_TEXT)
        case 'i': return readLong(text.slice(3))
      }
      break
    case 'o':
      if (text[2] === 'm') return null
      if (text[2] === 'p') return read(node, text.slice(3), depth + 1)
      break
    case 's': return text.slice(2)
    case 'c':
      if (text[2] === 'l' || text[2] === 's') return readList(node, text.slice(3), depth)
      if (text[2] === 'h' && text.length > 3) return text[3]
      break
    case 'm': return readMap(node, text.slice(2), depth)
    case '#': return readFields(node.kind === 'object' ? node : ANY, text.slice(2), depth)
  }
  throw new Error(`Unsupported type ${text.slice(0, 3)}`)
}

// ---- round trip ----

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
