import { createHmac } from 'node:crypto'
import fc from 'fast-check'
import { test } from 'tap'
import { hexMac } from '../transformers/hmac.js'

const ALGORITHMS = ['sha1', 'sha224', 'sha256', 'sha384', 'sha512', 'sha3-256', 'sha512-256']

test('hexMac gives createHmac\'s MAC for every algorithm, key length and message', async (t) => {
  for (const algorithm of ALGORITHMS) {
    fc.assert(fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 200 }),
      fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 100 })),
      (key, message) => hexMac(algorithm, key)(message) === createHmac(algorithm, key).update(message).digest('hex')
    ), { numRuns: 300 })
    t.pass(`${algorithm}: 300 random keys and messages`)
  }
})

test('hexMac gives RFC 4231\'s known answers', async (t) => {
  // Test case 2 ("Jefe") and test case 6 (a 131-byte key, longer than the block).
  t.equal(hexMac('sha256', Buffer.from('Jefe'))('what do ya want for nothing?'),
    '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843')
  t.equal(hexMac('sha512', Buffer.alloc(131, 0xaa))('Test Using Larger Than Block-Size Key - Hash Key First'),
    '80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598')
})

test('the same hexMac keeps answering correctly: a long message, then short ones, then unpaired surrogates', async (t) => {
  const key = Buffer.alloc(32, 7)
  const mac = hexMac('sha256', key)
  const expected = (m: string): string => createHmac('sha256', key).update(m).digest('hex')
  for (const message of ['x'.repeat(9000), 'é'.repeat(8192), 'short', '', '\ud800', 'a\udfffb', 'short']) {
    t.equal(mac(message), expected(message), `${message.length} units`)
  }
})
