import Value from 'typebox/value'
import { encodeUri } from './cookie-encoding.js'
import { ANY, type KeyKind, type Node, type Order } from './ktor-schema.js'
import { beyondInt, encodeQueryComponent, kotlinDouble } from './ktor-text.js'
import { isPlainObject } from './options.js'

// Writing Ktor's tagged format, following the schema's tree: a value the format cannot carry
// faithfully throws Unfaithful, with where and why.

export class Unfaithful extends Error {}

function where (path: string): string {
  return path === '' ? 'the top level' : path
}

export function mismatch (value: unknown, expected: string, path: string): Unfaithful {
  const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'object' ? `a ${value.constructor?.name ?? 'object'}` : `a ${typeof value}`
  return new Unfaithful(`${got} at ${where(path)} where the schema has ${expected}`)
}

function writeInteger (value: unknown, long: boolean, path: string): string {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw mismatch(value, 'an integer', path)
  if (!Number.isSafeInteger(value)) throw new Unfaithful(`the integer at ${where(path)} is beyond 2^53, which a JavaScript number cannot hold exactly`)
  const n = value === 0 ? 0 : value // Kotlin has no -0 integer
  return (long || beyondInt(n) ? '#l' : '#i') + String(n)
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

// An object's body: Ktor's formUrlEncode of (name, tagged value) pairs.
export function writeFields (node: Extract<Node, { kind: 'object' }>, value: unknown, order: Order, path: string): string {
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
