import { randomBytes } from 'node:crypto'
import { hex } from '../lib/index.js'

/** The demo's secrets: a MAC key for the cart, an AES-256 key for the preferences. */
export interface DemoKeys {
  /** HMAC-SHA256 key for the signed cart cookie (32 bytes or more). */
  mac: Buffer
  /** AES-256-GCM key for the encrypted preferences cookie (exactly 32 bytes). */
  enc: Buffer
  /** The environment variables that were missing and replaced by a development key made now. */
  generated: string[]
}

export const KEY_VARIABLES = { mac: 'SESSION_MAC_KEY', enc: 'SESSION_ENC_KEY' } as const

/**
 * Keys from the environment (hex), or development keys made at start for the ones that are
 * missing. Development keys are never silent: `generated` names them, and the demo says so on its
 * console and on every page. Values written with a development key do not survive a restart.
 */
export function loadKeys (env: NodeJS.ProcessEnv = process.env): DemoKeys {
  const generated: string[] = []
  function key (variable: string): Buffer {
    const text = env[variable]
    if (text === undefined || text === '') {
      generated.push(variable)
      return randomBytes(32)
    }
    try {
      return hex(text.trim())
    } catch {
      throw new Error(`${variable} must be hex; make one with: node -e "console.log(require('crypto').randomBytes(32).toString('hex'))"`)
    }
  }
  return { mac: key(KEY_VARIABLES.mac), enc: key(KEY_VARIABLES.enc), generated }
}
