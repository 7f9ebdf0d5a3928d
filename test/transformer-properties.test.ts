import fc from 'fast-check'
import { test } from 'tap'
import { messageAuthentication } from '../transformers/message-authentication.js'
import { encrypt } from '../transformers/encrypt.js'
import { ktorEncrypt } from '../transformers/ktor-encrypt.js'
import { digest } from '../transformers/digest.js'

// Well-formed strings of any code points: what serializers hand to transformers.
const payload = fc.string({ unit: 'grapheme', maxLength: 300 })
const anyString = fc.string({ unit: 'binary', maxLength: 300 })
const key = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max })
const RUNS = { numRuns: 200 }

test('messageAuthentication: write then read is the identity, for any key and value', async (t) => {
  fc.assert(fc.property(key(32, 64), fc.constantFrom('sha256', 'sha384', 'sha512'), anyString, (k, algorithm, value) => {
    const mac = messageAuthentication({ key: k, algorithm })
    return mac.transformRead(mac.transformWrite(value)) === value
  }), RUNS)
  t.pass('property held')
})

test('encrypt: write then read is the identity, for any key and value; another key reads nothing', async (t) => {
  fc.assert(fc.property(key(32, 32), key(32, 32), payload, (k, other, value) => {
    const transformer = encrypt({ key: k })
    const written = transformer.transformWrite(value)
    const otherReads = Buffer.from(k).equals(Buffer.from(other)) ? value : null
    return transformer.transformRead(written) === value &&
      encrypt({ key: [other, k] }).transformRead(written) === value &&
      encrypt({ key: other }).transformRead(written) === otherReads
  }), RUNS)
  t.pass('property held')
})

test('ktorEncrypt: write then read is the identity, for any AES key size, sign key and value', async (t) => {
  const aesKey = fc.constantFrom(16, 24, 32).chain((n) => key(n, n))
  fc.assert(fc.property(aesKey, key(1, 64), fc.boolean(), payload, (encryptionKey, signKey, backwardCompatibleRead, value) => {
    const transformer = ktorEncrypt({ encryptionKey, signKey, backwardCompatibleRead })
    return transformer.transformRead(transformer.transformWrite(value)) === value
  }), RUNS)
  t.pass('property held')
})

test('digest: write then read is the identity, for any salt and value', async (t) => {
  fc.assert(fc.property(anyString, fc.constantFrom('SHA-384', 'SHA-256', 'SHA-512'), anyString, (salt, algorithm, value) => {
    const transformer = digest({ salt, algorithm })
    return transformer.transformRead(transformer.transformWrite(value)) === value
  }), RUNS)
  t.pass('property held')
})

test('no transformer throws on arbitrary input, and none accepts it', async (t) => {
  const transformers = [
    messageAuthentication({ key: Buffer.alloc(32, 1) }),
    encrypt({ key: Buffer.alloc(32, 1) }),
    ktorEncrypt({ encryptionKey: Buffer.alloc(16, 1), signKey: Buffer.alloc(32, 2), backwardCompatibleRead: true }),
    digest(),
  ]
  fc.assert(fc.property(fc.oneof(anyString, fc.base64String(), fc.stringMatching(/^[0-9a-fA-F]{32}\/[0-9a-f]{0,96}:[0-9a-f]{64}$/)), (value) =>
    transformers.every((transformer) => transformer.transformRead(value) === null)), { numRuns: 500 })
  t.pass('property held')
})
