import { ANY, type Node } from './ktor-schema.js'
import { decodeQueryComponent, DECIMAL_TEXT, DOUBLE_TEXT, parseQuery, readDouble, readInt, readLong } from './ktor-text.js'

// Reading Ktor's tagged format: the tags decide the types, as Ktor's deserializeValue does; the
// schema's tree picks property names and collection items.

const MAX_DEPTH = 32
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

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

export function readFields (node: Node, text: string, depth: number): Record<string, unknown> {
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
