// The RFC 2104 HMAC composed from two one-shot hashes (transformers/hmac.ts `hexMac`) against
// `createHmac` per call, on a signed cookie's message (the envelope and a 30-character payload).
//   node scripts/run-built.mjs bench/micro/hmac.js
import { createHmac, createSecretKey, randomBytes } from 'node:crypto'
import { hexMac } from '../../transformers/hmac.js'
import { compare } from './measure.js'

const key = randomBytes(32)
const keyObject = createSecretKey(key)
const message = '2:S:mj3k2a0:mj3k2a0:mjb2x80:{"username":"bench","count":12}'
const composed = hexMac('sha256', key)
if (composed(message) !== createHmac('sha256', key).update(message).digest('hex')) throw new Error('the MACs differ')

compare('HMAC-SHA-256 of a signed cookie message, hex', [
  { label: 'hexMac: two crypto.hash calls over padded keys, as shipped', run: () => composed(message) },
  { label: 'createHmac(sha256, KeyObject).update().digest(hex)', run: () => createHmac('sha256', keyObject).update(message).digest('hex') },
  { label: 'createHmac(sha256, Buffer).update().digest(hex)', run: () => createHmac('sha256', key).update(message).digest('hex') },
])
