import type { TSchema, Static } from 'typebox'
import { Compile, type Validator } from 'typebox/compile'
import Value from 'typebox/value'
import { FST_SESSIONS_OPTIONS } from './errors.js'

// Options are declared as TypeBox schemas: one schema gives the runtime check, the defaults and
// the static type. This module turns a schema and what the user passed into a checked copy.

const validators = new WeakMap<TSchema, Validator>()

function validatorOf (schema: TSchema): Validator {
  let validator = validators.get(schema)
  if (validator === undefined) {
    validator = Compile(schema)
    validators.set(schema, validator)
  }
  return validator
}

/** An object literal (or a null-prototype object): not an array, a class instance, a Date, a Map. */
export function isPlainObject (value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

// Copies plain objects and arrays so defaults never land on the caller's objects; anything else
// (a storage, a Buffer, a function, a RegExp) is passed by reference.
function copyPlain<T> (value: T): T {
  if (Array.isArray(value)) return value.map(copyPlain) as T
  if (!isPlainObject(value)) return value
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value)) out[key] = copyPlain(value[key])
  return out as T
}

/** Checks `input` against `schema` and returns a new object with the schema's defaults. */
export function parseOptions<S extends TSchema> (schema: S, input: unknown, label: string): Static<S> {
  const value = copyPlain(input ?? {})
  const validator = validatorOf(schema)
  if (!validator.Check(value)) {
    throw new FST_SESSIONS_OPTIONS(`${label}: ${describeErrors(validator, value)}`)
  }
  return Value.Default(schema, value) as Static<S>
}

function describeErrors (validator: Validator, value: unknown): string {
  const errors = validator.Errors(value)
  // The most specific error is the deepest one; among equals, the first reported.
  let best = errors[0]
  for (const error of errors) {
    if (best === undefined || error.instancePath.length > best.instancePath.length) best = error
  }
  if (best === undefined) return 'not valid'
  const where = best.instancePath === '' ? 'options' : best.instancePath.slice(1).replaceAll('/', '.')
  if (best.keyword === 'additionalProperties' || best.keyword === 'boolean') {
    return `unknown option "${where}"`
  }
  return `${where} ${best.message}`
}

/** Throws `FST_SESSIONS_OPTIONS` with `message` (prefixed with what was being configured). */
export function optionsError (label: string, message: string): Error {
  return new FST_SESSIONS_OPTIONS(`${label}: ${message}`)
}
