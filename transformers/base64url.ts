// Strict base64url without padding: only the canonical spelling of some bytes is accepted, so a
// changed character can never decode to the same bytes (Buffer.from ignores what it cannot use).

const BASE64URL = /^[A-Za-z0-9_-]*$/
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
// By length mod 4: the low bits of the last character that carry no byte.
const UNUSED_BITS: readonly number[] = [0, 0, 0b1111, 0b11]

/** The bytes `text` spells in canonical unpadded base64url, or null. */
export function strictBase64url (text: string): Buffer | null {
  if (typeof text !== 'string' || text.length % 4 === 1 || !BASE64URL.test(text)) return null
  const unused = UNUSED_BITS[text.length % 4] as number
  if (unused !== 0 && (ALPHABET.indexOf(text[text.length - 1] as string) & unused) !== 0) return null
  return Buffer.from(text, 'base64url')
}
