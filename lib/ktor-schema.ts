import type { TSchema } from 'typebox'
import Value from 'typebox/value'
import { optionsError } from './options.js'

// A TypeBox schema compiled into the tree that Ktor's format is written and read by.

export const LABEL = 'ktorSerializer()'

export type Order = 'sorted' | 'declaration'
export type KeyKind = 'string' | 'integer' | 'number'
interface Prop { name: string, lower: string, node: Node }
export type Node =
  | { kind: 'string' | 'number' | 'boolean' | 'null' }
  | { kind: 'integer', long: boolean }
  | { kind: 'array', items: Node }
  | { kind: 'record', key: KeyKind, value: Node }
  | { kind: 'object', props: Prop[] }
  | { kind: 'any', members: Array<{ schema: TSchema, node: Node }> }

export const ANY: Node = { kind: 'any', members: [] }
// TypeBox's key patterns for Record(Type.Integer(), …) and Record(Type.Number(), …).
const INTEGER_KEY = '^-?(?:0|[1-9][0-9]*)$'
const NUMBER_KEY = '^-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?$'

export function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function compile (schema: unknown, order: Order): Node {
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

// The object schema a union root writes `value` with: the first member it matches.
export function objectNode (node: Node, value: unknown): Node {
  if (node.kind !== 'any') return node
  return node.members.find((m) => m.node.kind === 'object' && Value.Check(m.schema, value))?.node ?? node
}
