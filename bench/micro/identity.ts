// Session ids drawn from the CSPRNG in batches (lib/identity.ts `defaultIdentity`) against one
// `randomBytes(32)` per id, and the storage key's SHA-256 against a hit in the key cache.
//   node scripts/run-built.mjs bench/micro/identity.js
import { randomBytes } from 'node:crypto'
import { defaultIdentity, storageKey } from '../../lib/identity.js'
import { Recent } from '../../lib/recent.js'
import { compare } from './measure.js'

compare('a new session id (256 bits, base64url)', [
  { label: 'defaultIdentity(): batches of 128 ids, as shipped', run: () => defaultIdentity() },
  { label: 'randomBytes(32).toString(base64url) per id', run: () => randomBytes(32).toString('base64url') },
])

const ids = Array.from({ length: 100 }, () => defaultIdentity())
const keys = new Recent<string>(2 * 1024 * 1024, (id, key) => id.length + key.length + 64)
for (const id of ids) keys.set(id, storageKey('S', id))
compare('the storage key of an id seen before', [
  { label: 'Recent lookup (server-side.ts keyOf), as shipped', run: (i) => keys.get(ids[i % 100] as string) },
  { label: 'storageKey: SHA-256 of name and id', run: (i) => storageKey('S', ids[i % 100] as string) },
])
