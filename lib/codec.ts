import type { TSchema } from 'typebox'
import { Compile, type Validator } from 'typebox/compile'
import type { SessionTransportTransformer } from '../transformers/transformer.js'
import { FST_SESSIONS_INVALID_PAYLOAD } from './errors.js'
import type { SessionSerializer } from './serializer.js'
import type { Transport } from './transport.js'

// The two ends of a provider's pipelines that client-side and server-side sessions share: the
// transport value to and from text (transport encoding, transformers), and the payload to and
// from text (serializer, compiled schema check). Composed once, when the provider is made.

/** What `parse` returns for text the serializer cannot read. */
export const MALFORMED: unique symbol = Symbol('malformed')
/** What `parse` returns for a payload that fails the schema. */
export const SCHEMA: unique symbol = Symbol('schema')

export class Codec<T = unknown> {
  readonly name: string
  readonly transport: Transport
  readonly serializer: SessionSerializer<T>
  readonly transformers: readonly SessionTransportTransformer[]
  private readonly validator: Validator

  constructor (transport: Transport, schema: TSchema, serializer: SessionSerializer<T>, transformers: readonly SessionTransportTransformer[]) {
    this.name = transport.name
    this.transport = transport
    this.serializer = serializer
    this.transformers = transformers
    this.validator = Compile(schema)
  }

  /** The transport value with the encoding and transformers undone, or why not. */
  unwrap (raw: string): string | 'malformed' | 'bad-signature' {
    let value = this.transport.decode(raw)
    if (value === null) return 'malformed'
    // A transformer must not throw on client input; one that does (a user's own) rejects the value.
    try {
      for (let i = this.transformers.length - 1; i >= 0; i--) {
        value = (this.transformers[i] as SessionTransportTransformer).transformRead(value)
        if (value === null) return 'bad-signature'
      }
    } catch {
      return 'bad-signature'
    }
    return value
  }

  /** What travels: the transformers applied in order, then the transport's encoding. */
  wrap (value: string): string {
    for (const transformer of this.transformers) value = transformer.transformWrite(value)
    return this.transport.encode(value)
  }

  /** The payload from serialized text, or MALFORMED / SCHEMA (no allocation for the answer). */
  parse (text: string): unknown {
    let value: unknown
    try {
      value = this.serializer.deserialize(text)
    } catch {
      return MALFORMED
    }
    // A recursive schema checks a deeply nested value recursively: a client must not be able to
    // overflow the stack with one (a RangeError here would be a 500).
    try {
      return this.validator.Check(value) ? value : SCHEMA
    } catch {
      return SCHEMA
    }
  }

  /** Checks a value handed to `set` and returns its serialized text. */
  serialize (value: unknown): string {
    if (!this.validator.Check(value)) {
      const error = this.validator.Errors(value)[0]
      const where = error === undefined || error.instancePath === '' ? 'the payload' : error.instancePath.slice(1).replaceAll('/', '.')
      throw new FST_SESSIONS_INVALID_PAYLOAD(this.name, `${where} ${error?.message ?? 'does not match the schema'}`)
    }
    try {
      return this.serializer.serialize(value as T)
    } catch (error) {
      throw new FST_SESSIONS_INVALID_PAYLOAD(this.name, (error as Error).message)
    }
  }
}

/** The reason a parse failed, as reads report it. */
export function parseFailure (parsed: unknown): 'malformed' | 'schema' | null {
  return parsed === MALFORMED ? 'malformed' : parsed === SCHEMA ? 'schema' : null
}
