import Type, { type TAddOptional, type TObject, type TProperties, type TSchema, type Static } from 'typebox'
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

// Defaults that the types know about. A property declared with `withDefault` is optional to the
// caller and present in what `parseOptionsWithDefaults` returns, so no `??` repeats the default.

/** A property schema with a default: optional in the options, always there once parsed. */
export type TDefaulted<T extends TSchema> = TAddOptional<T & { readonly default: Static<T> }>

/** `Type.Optional(schema)` with `value` as its default, kept in the type. */
export function withDefault<T extends TSchema> (schema: T, value: Static<T>): TDefaulted<T> {
  return Type.Optional(Object.assign(schema, { default: value }))
}

type DefaultedKeys<P extends TProperties> = { [K in keyof P]: P[K] extends { readonly default: unknown } ? K : never }[keyof P]

/** The parsed options of an object schema: properties declared with `withDefault` are required. */
export type WithDefaults<S extends TObject> = Static<S> & {
  [K in DefaultedKeys<S['properties']> & keyof Static<S>]-?: Exclude<Static<S>[K], undefined>
}

/** `parseOptions`, with a return type that has the properties declared with `withDefault`. */
export function parseOptionsWithDefaults<S extends TObject> (schema: S, input: unknown, label: string): WithDefaults<S> {
  // Value.Default has filled every property that declares a default, which no type can say.
  return parseOptions(schema, input, label) as WithDefaults<S>
}
