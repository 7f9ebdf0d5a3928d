// What the cases share: random keys, a storage closed after each case, a faked Date.now restored
// when a case settles, values that prove themselves whole, and keys meant to break a storage.
import { createHash, randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { SessionStorage } from '../../storages/storage.js'
import type { MakeStorage } from './case.js'

export const MINUTE = 60_000

export function randomKey (): string {
  return randomBytes(32).toString('base64url')
}

export async function withStorage (make: MakeStorage, body: (storage: SessionStorage) => Promise<void>): Promise<void> {
  const storage = await make()
  try {
    await body(storage)
  } finally {
    await storage.close?.()
  }
}

/** Runs `body` with Date.now() returning `now()`; the real clock is back when it settles. */
export async function withClock (now: () => number, body: () => Promise<void>): Promise<void> {
  const real = Date.now
  Date.now = now
  try {
    await body()
  } finally {
    Date.now = real
  }
}

/** A value that proves itself whole: its length and hash are inside it. */
export function selfChecking (size: number, seed: string): string {
  const body = seed + ':' + randomBytes(Math.ceil(size * 3 / 4)).toString('base64url').slice(0, size)
  return `${body.length}:${createHash('sha256').update(body).digest('hex')}:${body}`
}

export function isWhole (value: string): boolean {
  const [length, digest, ...rest] = value.split(':')
  const body = rest.join(':')
  return Number(length) === body.length && createHash('sha256').update(body).digest('hex') === digest
}

export function hostileKeys (token: string): string[] {
  const exact = ['', '.', '..', '/', '\\', '\0', '~', ' ']
  const shapes = [
    '../', '../../', '/etc/passwd', 'a/b', 'a\\b', '..\\..\\', '\0nul', 'nul\0byte', '%2e%2e%2f', '%00',
    'CON', 'aux.txt', '.hidden', '-rf', '*', '?', '[a-z]', '{slot}', 'key with spaces', 'line\nbreak',
    'tab\there', 'é', 'e\u0301', '😀', '\uD800', '\uFFFF', 'KEY', 'key', 'x'.repeat(4096),
  ]
  return [...exact, ...shapes.map((shape) => shape + token), ...shapes.map((shape) => token + shape)]
}

/** Resolves once Date.now() is past `time` (real time: a sleep, then as many more as it takes). */
export async function untilPast (time: number): Promise<void> {
  while (Date.now() <= time) await sleep(time - Date.now() + 1)
}
