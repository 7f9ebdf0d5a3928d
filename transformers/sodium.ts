import { createRequire } from 'node:module'
import { optionsError } from '../lib/options.js'

// sodium-native is an optional peer dependency: only `secretbox` and `fromSecureSession` need it,
// so it is loaded when one of them is made, never when the package is imported.

/** The part of sodium-native's API this package calls. */
export interface Sodium {
  readonly crypto_secretbox_KEYBYTES: number
  readonly crypto_secretbox_NONCEBYTES: number
  readonly crypto_secretbox_MACBYTES: number
  crypto_secretbox_easy (c: Uint8Array, m: Uint8Array, n: Uint8Array, k: Uint8Array): void
  crypto_secretbox_open_easy (m: Uint8Array, c: Uint8Array, n: Uint8Array, k: Uint8Array): boolean
  randombytes_buf (buffer: Uint8Array): void
}

const require = createRequire(import.meta.url)
let loaded: Sodium | undefined

function isSodium (value: unknown): value is Sodium {
  return typeof value === 'object' && value !== null &&
    typeof (value as Partial<Sodium>).crypto_secretbox_easy === 'function' &&
    typeof (value as Partial<Sodium>).crypto_secretbox_open_easy === 'function' &&
    typeof (value as Partial<Sodium>).randombytes_buf === 'function'
}

/** sodium-native, or FST_SESSIONS_OPTIONS saying how to install it. */
export function loadSodium (label: string): Sodium {
  if (loaded !== undefined) return loaded
  let module: unknown
  try {
    module = require('sodium-native')
  } catch {
    throw optionsError(label, 'needs the optional peer dependency sodium-native, which is not installed: npm install sodium-native')
  }
  if (!isSodium(module)) throw optionsError(label, 'the installed sodium-native lacks crypto_secretbox_easy; install sodium-native 4 or later')
  loaded = module
  return loaded
}
