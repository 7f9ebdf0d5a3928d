// `base36` (lib/envelope.ts: two digits at a time from a table) against `Number#toString(36)`, on
// the epoch-millisecond times that envelopes and records carry.
//   node scripts/run-built.mjs bench/micro/base36.js
import { base36 } from '../../lib/envelope.js'
import { compare } from './measure.js'

const now = Date.now()
for (let i = 0; i < 1000; i++) if (base36(now + i * 7919) !== (now + i * 7919).toString(36)) throw new Error('base36 differs')

compare('an epoch-millisecond time in base 36', [
  { label: 'base36(n), as shipped', run: (i) => base36(now + i) },
  { label: 'n.toString(36)', run: (i) => (now + i).toString(36) },
])
