import { timingSafeEqual } from 'node:crypto'
import Type, { type Static } from 'typebox'
import { parseOptionsWithDefaults, withDefault } from '../lib/options.js'
import { isLowerHex, keyList, type KeyInput } from './keys.js'
import { hexMac, hmacAlgorithm, macLength } from './hmac.js'
import type { SessionTransportTransformer } from './transformer.js'

const LABEL = 'messageAuthentication()'

export const MessageAuthenticationOptionsSchema = Type.Object({
  /** 32 bytes or more; or a list, where the first key signs and every key verifies. */
  key: Type.Unsafe<KeyInput>({}),
  /** `sha256` (default), `sha384`, `sha512`, or Ktor's names (`HmacSHA256`). */
  algorithm: withDefault(Type.String(), 'sha256'),
}, { additionalProperties: false })

export type MessageAuthenticationOptions = Static<typeof MessageAuthenticationOptionsSchema>

/**
 * Ktor's SessionTransportTransformerMessageAuthentication: `value/hex(hmac(value))`, lowercase hex,
 * the last `/` separating the two, so values may contain `/`. Verification is constant-time and
 * refuses any signature that is not exactly the MAC's length in lowercase hex before hashing.
 */
export function messageAuthentication (options: MessageAuthenticationOptions): SessionTransportTransformer {
  const opts = parseOptionsWithDefaults(MessageAuthenticationOptionsSchema, options, LABEL)
  const { algorithm, warnings } = hmacAlgorithm(opts.algorithm, LABEL)
  const macs = keyList(opts.key, { label: LABEL, minBytes: 32 }).map((key) => hexMac(algorithm, key))
  const sign = macs[0] as (value: string) => string
  const hexLength = macLength(algorithm) * 2
  // The MAC is compared as lowercase hex text, in two buffers made once (reads are synchronous):
  // digest('hex') costs less than digest() plus decoding the signature into a new buffer.
  const sent = Buffer.alloc(hexLength)
  const computed = Buffer.alloc(hexLength)

  return {
    ...(warnings.length > 0 ? { warnings } : {}),
    transformWrite (value: string): string {
      return value + '/' + sign(value)
    },
    transformRead (transportValue: string): string | null {
      const slash = transportValue.lastIndexOf('/')
      if (slash < 0 || transportValue.length - slash - 1 !== hexLength) return null
      const signature = transportValue.slice(slash + 1)
      if (!isLowerHex(signature)) return null
      const value = transportValue.slice(0, slash)
      sent.write(signature, 0, 'latin1')
      for (const mac of macs) {
        computed.write(mac(value), 0, 'latin1')
        if (timingSafeEqual(computed, sent)) return value
      }
      return null
    },
  }
}
