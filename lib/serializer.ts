import type { TSchema, Static } from 'typebox'
import { isPlainObject } from './options.js'

/**
 * Turns a session payload into text and back. `serialize` throws when the value cannot be carried
 * faithfully (the plugin reports it as `FST_SESSIONS_INVALID_PAYLOAD`); `deserialize` throws on
 * text it cannot read (the session then reads as absent).
 */
export interface SessionSerializer<T> {
  serialize (session: T): string
  deserialize (text: string): T
}

type Writer = (value: unknown, path: string) => string

function describe (value: unknown): string {
  if (value === undefined) return 'undefined'
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value)
  if (typeof value !== 'object' || value === null) return `a ${typeof value}`
  return `a ${value.constructor?.name ?? 'object'}`
}

function unfaithful (value: unknown, path: string): Error {
  return new Error(`${describe(value)} at ${path === '' ? 'the top level' : path} has no faithful JSON form`)
}

// JSON.stringify with a check that the text parses back to an equal value: no Date, Map, Set,
// bigint, function, undefined array item, hole or non-finite number slips through changed.
function writeAny (value: unknown, path: string): string {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value)
    case 'number':
      // JSON writes -0 as 0: refused like the non-finite numbers it cannot write at all.
      if (!Number.isFinite(value) || Object.is(value, -0)) throw unfaithful(value, path)
      return JSON.stringify(value)
    case 'object': {
      if (value === null) return 'null'
      if (Array.isArray(value)) return writeArray(value, path, writeAny)
      if (!isPlainObject(value)) throw unfaithful(value, path)
      let out = '{'
      for (const key of Object.keys(value)) {
        const item = (value as Record<string, unknown>)[key]
        if (item === undefined) continue
        out += (out.length === 1 ? '' : ',') + JSON.stringify(key) + ':' + writeAny(item, path + '.' + key)
      }
      return out + '}'
    }
    default:
      throw unfaithful(value, path)
  }
}

function writeArray (value: unknown[], path: string, item: Writer): string {
  let out = '['
  for (let i = 0; i < value.length; i++) {
    if (!(i in value) || value[i] === undefined) throw unfaithful(undefined, `${path}[${i}]`)
    out += (i === 0 ? '' : ',') + item(value[i], `${path}[${i}]`)
  }
  return out + ']'
}

interface ObjectSchema { type: 'object', properties: Record<string, TSchema> }

function isObjectSchema (schema: TSchema): schema is TSchema & ObjectSchema {
  const s = schema as Partial<ObjectSchema>
  return s.type === 'object' && typeof s.properties === 'object' && s.properties !== null
}

// A writer shaped by the schema: declared properties in declaration order (as Ktor 3's kotlinx
// JSON writes them), then any others the schema allows, in their own order.
function compileWriter (schema: TSchema): Writer {
  if (isObjectSchema(schema)) {
    const props = Object.keys(schema.properties).map((key) => ({
      key,
      prefix: JSON.stringify(key) + ':',
      write: compileWriter(schema.properties[key] as TSchema),
    }))
    const declared = new Set(props.map((p) => p.key))
    return (value, path) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value) || !isPlainObject(value)) {
        return writeAny(value, path)
      }
      const record = value as Record<string, unknown>
      let out = '{'
      for (const prop of props) {
        const item = record[prop.key]
        if (item === undefined || !Object.hasOwn(record, prop.key)) continue
        out += (out.length === 1 ? '' : ',') + prop.prefix + prop.write(item, path + '.' + prop.key)
      }
      for (const key of Object.keys(record)) {
        if (declared.has(key) || record[key] === undefined) continue
        out += (out.length === 1 ? '' : ',') + JSON.stringify(key) + ':' + writeAny(record[key], path + '.' + key)
      }
      return out + '}'
    }
  }
  const s = schema as { type?: unknown, items?: unknown }
  if (s.type === 'array' && typeof s.items === 'object' && s.items !== null && !Array.isArray(s.items)) {
    const item = compileWriter(s.items as TSchema)
    return (value, path) => Array.isArray(value) ? writeArray(value, path, item) : writeAny(value, path)
  }
  return writeAny
}

// A cheap pre-test on the text; `\u` escapes can spell any key, so they get the full walk too.
const MAY_POLLUTE = /__proto__|constructor|prototype|\\u/

function assertNoPollution (value: unknown): void {
  if (typeof value !== 'object' || value === null) return
  if (Array.isArray(value)) {
    for (const item of value) assertNoPollution(item)
    return
  }
  for (const key of Object.keys(value)) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
      throw new Error(`a payload key is "${key}", which is refused on read (it could pollute prototypes in code that merges the payload)`)
    }
    assertNoPollution((value as Record<string, unknown>)[key])
  }
}

/**
 * The default serializer: compact JSON, properties in the schema's order. `serialize` refuses
 * what JSON would change; `deserialize` refuses `__proto__`, `constructor` and `prototype` keys,
 * which could pollute prototypes in code that merges the payload into another object.
 */
export function jsonSerializer<S extends TSchema> (schema: S): SessionSerializer<Static<S>> {
  const write = compileWriter(schema)
  const serializer: SessionSerializer<Static<S>> = {
    serialize (session) {
      const text = write(session, '')
      // What deserialize refuses is refused here too, or the session would read as absent forever.
      if (MAY_POLLUTE.test(text)) assertNoPollution(JSON.parse(text))
      return text
    },
    deserialize (text) {
      const value: unknown = JSON.parse(text)
      if (MAY_POLLUTE.test(text)) assertNoPollution(value)
      return value as Static<S>
    },
  }
  jsonSerializers.add(serializer)
  return serializer
}

// The serializers jsonSerializer made, for option checks that depend on writing JSON.
const jsonSerializers = new WeakSet<object>()

export function isJsonSerializer (value: unknown): boolean {
  return typeof value === 'object' && value !== null && jsonSerializers.has(value)
}
