/**
 * A reversible step between the serialized session (or session id) and what travels to the
 * client: signing, encrypting. Transformers are applied in order on write and in reverse order
 * on read, as Ktor applies them.
 */
export interface SessionTransportTransformer {
  /** The inner value, or `null` to reject what the client sent. Never throws on client input. */
  transformRead (transportValue: string): string | null
  /** The value to send to the client. */
  transformWrite (transportValue: string): string
  /** Cautions about this configuration (a short key, a weak format); logged when the plugin is registered. */
  readonly warnings?: readonly string[]
  /**
   * How many leading bytes of the value it protects someone holding a transport value can rewrite
   * without `transformRead` noticing (Ktor's Encrypt: 16, its IV is not authenticated). A
   * client-side envelope keeps that many first bytes constant, and refuses envelopes of the older
   * format, which did not.
   */
  readonly malleablePrefix?: number
}
