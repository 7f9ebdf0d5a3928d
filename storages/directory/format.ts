// The record file format, and what a record may hold. A file is
// "FSS1 <expiry: 16 digits, or 16 dashes for none> <value length in bytes: 10 digits>\n<value>":
// a fixed-width header, so `touch` can rewrite the expiry in place with one small write.
import type { FileHandle } from 'node:fs/promises'
import { checkExpiry } from '../expiry.js'

const MAGIC = 'FSS1 '
export const EXPIRY_OFFSET = MAGIC.length
const EXPIRY_WIDTH = 16
export const HEADER_LENGTH = EXPIRY_OFFSET + EXPIRY_WIDTH + 1 + 10 + 1
const NO_EXPIRY = '-'.repeat(EXPIRY_WIDTH)
const HEADER = /^FSS1 (-{16}|\d{16}) (\d{10})\n$/

export interface Header {
  expiresAt: number | null
  length: number
}

export function checkKey (key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new TypeError('key must be a string')
}

export function checkValue (key: unknown, value: unknown, expiresAt: number | null): void {
  checkKey(key)
  checkExpiry(expiresAt)
  if (typeof value !== 'string') throw new TypeError('value must be a string')
  if (!(value as string & { isWellFormed (): boolean }).isWellFormed()) {
    throw new TypeError('value must be well-formed Unicode (it has a lone surrogate)')
  }
}

/** Whether `expiresAt` has passed by Date.now (which tests may fake). */
export function isPast (expiresAt: number | null): boolean {
  return expiresAt !== null && Date.now() >= expiresAt
}

export function expired (header: Header): boolean {
  return isPast(header.expiresAt)
}

export function expiryField (expiresAt: number | null): string {
  if (expiresAt === null || expiresAt === Infinity) return NO_EXPIRY
  return String(Math.min(Math.ceil(expiresAt), Number.MAX_SAFE_INTEGER)).padStart(EXPIRY_WIDTH, '0')
}

export function parseHeader (bytes: Buffer): Header | null {
  if (bytes.length < HEADER_LENGTH) return null
  const match = HEADER.exec(bytes.toString('latin1', 0, HEADER_LENGTH))
  if (match === null) return null
  return { expiresAt: match[1] === NO_EXPIRY ? null : Number(match[1]), length: Number(match[2]) }
}

export function encodeRecord (value: string, expiresAt: number | null): Buffer {
  const length = Buffer.byteLength(value, 'utf8')
  const bytes = Buffer.allocUnsafe(HEADER_LENGTH + length)
  bytes.write(`${MAGIC}${expiryField(expiresAt)} ${String(length).padStart(10, '0')}\n`, 0, 'latin1')
  bytes.write(value, HEADER_LENGTH, 'utf8')
  return bytes
}

export async function readHeader (handle: FileHandle): Promise<Header | null> {
  const bytes = Buffer.alloc(HEADER_LENGTH)
  const { bytesRead } = await handle.read(bytes, 0, HEADER_LENGTH, 0)
  return parseHeader(bytes.subarray(0, bytesRead))
}
