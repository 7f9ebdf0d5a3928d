import { createCipheriv, createHmac } from 'node:crypto'
import { test } from 'tap'
import { ktorEncrypt } from '../transformers/ktor-encrypt.js'
import { hex } from '../transformers/keys.js'

// Ktor's own test (SessionTestJvm.kt): 16-byte AES key, 11-byte sign key, fixed IV.
const KTOR_ENC = hex('00112233445566778899aabbccddeeff')
const KTOR_SIGN = hex('02030405060708090a0b0c')
const KTOR_IV = hex('00112233445566778899aabbccddeeff')
const KTOR_INPUT = '{"userId":"id2","cart":[]}'
const KTOR_OUTPUT = '00112233445566778899aabbccddeeff/9b8cf9900ff0f63849cb7a2ad71ed8a1ac9f0e2735492d2a5129cf278d70ab27:40af9f393a00034b53d2267251047259005bdf5ff104eede599149e80e6fee13'
// Ktor 1.x/2.x wrote the MAC over the plaintext (here the reflection format of the same session).
const LEGACY_INPUT = 'cart=%23cl&userId=%23sid2'
const LEGACY_OUTPUT = '00112233445566778899aabbccddeeff/c3850fc1ddc62f71ec5eaad6d393b91fa809fe32a1cf0cb4730788c5a489daef:51a5e9fcd1c91418f9a623bafa5022a524348e44244265dc0cab2cebacc28a5d'

const ENC_256 = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f')
const SIGN_32 = hex('202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f')
const PLAIN = '{"username":"John","count":1}'

test('Ktor\'s own test vector: a 16-byte key and an 11-byte sign key, written and read', async (t) => {
  const transformer = ktorEncrypt({ encryptionKey: KTOR_ENC, signKey: KTOR_SIGN, ivGenerator: () => KTOR_IV })
  t.equal(transformer.transformWrite(KTOR_INPUT), KTOR_OUTPUT)
  t.equal(transformer.transformRead(KTOR_OUTPUT), KTOR_INPUT)
})

test('the legacy MAC (over the plaintext) is what KTOR.md records', async (t) => {
  t.match(LEGACY_OUTPUT.slice(-64), /^51a5e9fc[0-9a-f]{52}8a5d$/)
  t.equal(createHmac('sha256', KTOR_SIGN).update(LEGACY_INPUT).digest('hex'), LEGACY_OUTPUT.slice(-64))
})

test('backwardCompatibleRead reads Ktor 1.x/2.x values; without it they are absent', async (t) => {
  t.equal(ktorEncrypt({ encryptionKey: KTOR_ENC, signKey: KTOR_SIGN }).transformRead(LEGACY_OUTPUT), null)
  const compatible = ktorEncrypt({ encryptionKey: KTOR_ENC, signKey: KTOR_SIGN, backwardCompatibleRead: true })
  t.equal(compatible.transformRead(LEGACY_OUTPUT), LEGACY_INPUT)
  t.equal(compatible.transformRead(KTOR_OUTPUT), KTOR_INPUT, 'and still reads 3.x values')
  t.equal(compatible.transformRead(LEGACY_OUTPUT.slice(0, -1) + '0'), null, 'a wrong legacy MAC is absent')
  t.ok(compatible.warnings?.some((w) => /backwardCompatibleRead decrypts values before authenticating/.test(w)))
  // Writes are always the 3.x format.
  const written = compatible.transformWrite(LEGACY_INPUT)
  const body = Buffer.from(written.slice(33, written.indexOf(':')), 'hex')
  t.equal(written.slice(-64), createHmac('sha256', KTOR_SIGN).update(body).digest('hex'))
})

test('AES-128, AES-192 and AES-256 keys all work, with a 16-byte IV', async (t) => {
  for (const length of [16, 24, 32]) {
    const key = ENC_256.subarray(0, length)
    const transformer = ktorEncrypt({ encryptionKey: key, signKey: SIGN_32 })
    const written = transformer.transformWrite(PLAIN)
    t.match(written, /^[0-9a-f]{32}\/[0-9a-f]+:[0-9a-f]{64}$/, `AES-${length * 8}`)
    t.equal(transformer.transformRead(written), PLAIN)
    // Independently: plain node:crypto with the same IV gives the same ciphertext.
    const [iv, rest] = written.split('/') as [string, string]
    const ct = Buffer.from(rest.split(':')[0] as string, 'hex')
    const cipher = createCipheriv(`aes-${length * 8}-cbc`, key, Buffer.from(iv, 'hex'))
    t.same(Buffer.concat([cipher.update(PLAIN), cipher.final()]), ct, `AES-${length * 8}-CBC with PKCS#5 padding`)
  }
})

test('key checks: AES keys of 16, 24 or 32 bytes, a non-empty sign key; short keys warn', async (t) => {
  for (const length of [0, 8, 15, 17, 31, 33, 64]) {
    t.throws(() => ktorEncrypt({ encryptionKey: Buffer.alloc(length, 1), signKey: SIGN_32 }), { code: 'FST_SESSIONS_OPTIONS', message: /must be 16, 24, 32 bytes long/ }, `${length}-byte AES key`)
  }
  t.throws(() => ktorEncrypt({ encryptionKey: ENC_256, signKey: Buffer.alloc(0) }), { code: 'FST_SESSIONS_OPTIONS', message: /at least 1 bytes/ })
  t.same(ktorEncrypt({ encryptionKey: ENC_256, signKey: SIGN_32 }).warnings, [])
  const short = ktorEncrypt({ encryptionKey: KTOR_ENC, signKey: KTOR_SIGN })
  t.equal(short.warnings?.length, 2)
  t.match(short.warnings?.[0], /encryptionKey is 16 bytes long/)
  t.match(short.warnings?.[1], /signKey is 11 bytes long/)
  t.throws(() => ktorEncrypt({ encryptionKey: ENC_256, signKey: SIGN_32, signAlgorithm: 'HmacNope' }), { code: 'FST_SESSIONS_OPTIONS', message: /unknown algorithm/ })
  t.throws(() => ktorEncrypt({ encryptionKey: ENC_256, signKey: SIGN_32, ivGenerator: 'x' as unknown as () => Uint8Array }), { code: 'FST_SESSIONS_OPTIONS', message: /ivGenerator must be a function/ })
  t.throws(() => ktorEncrypt({ encryptionKey: [ENC_256, KTOR_ENC, ENC_256], signKey: [SIGN_32, KTOR_SIGN] }), { code: 'FST_SESSIONS_OPTIONS', message: /pair up by position/ })
})

test('an IV generator that returns the wrong size is a programming error on write', async (t) => {
  const transformer = ktorEncrypt({ encryptionKey: ENC_256, signKey: SIGN_32, ivGenerator: (size) => Buffer.alloc(size + 1) })
  t.throws(() => transformer.transformWrite(PLAIN), { message: /ivGenerator must return 16 bytes/ })
})

test('the IV generator is called with 16 whatever the key size (Ktor 3.5.1+)', async (t) => {
  const sizes: number[] = []
  const transformer = ktorEncrypt({ encryptionKey: ENC_256, signKey: SIGN_32, ivGenerator: (size) => { sizes.push(size); return Buffer.alloc(size) } })
  transformer.transformWrite(PLAIN)
  t.same(sizes, [16])
})

test('key rotation: pairs by position, the first pair writes, every pair reads', async (t) => {
  const oldPair = ktorEncrypt({ encryptionKey: KTOR_ENC, signKey: KTOR_SIGN })
  const rotated = ktorEncrypt({ encryptionKey: [ENC_256, KTOR_ENC], signKey: [SIGN_32, KTOR_SIGN] })
  t.equal(rotated.transformRead(KTOR_OUTPUT), KTOR_INPUT)
  const written = rotated.transformWrite(PLAIN)
  t.equal(oldPair.transformRead(written), null, 'written with the first pair')
  t.equal(ktorEncrypt({ encryptionKey: ENC_256, signKey: SIGN_32 }).transformRead(written), PLAIN)
  // One sign key for every encryption key.
  const sharedSign = ktorEncrypt({ encryptionKey: [ENC_256, KTOR_ENC], signKey: KTOR_SIGN })
  t.equal(sharedSign.transformRead(KTOR_OUTPUT), KTOR_INPUT)
  t.equal(sharedSign.transformRead(sharedSign.transformWrite(PLAIN)), PLAIN)
})

test('the MAC is checked before decrypting: a value whose ciphertext is not even decryptable is absent', async (t) => {
  const transformer = ktorEncrypt({ encryptionKey: KTOR_ENC, signKey: KTOR_SIGN })
  // A ciphertext with a valid MAC but bad padding (made with another key) is absent, not an error.
  const other = ktorEncrypt({ encryptionKey: ENC_256.subarray(0, 16), signKey: KTOR_SIGN }).transformWrite(PLAIN)
  t.equal(transformer.transformRead(other), null)
})

test('Ktor\'s hex rules: IV and ciphertext in either case, the MAC in lowercase only', async (t) => {
  const transformer = ktorEncrypt({ encryptionKey: KTOR_ENC, signKey: KTOR_SIGN })
  const [iv, rest] = KTOR_OUTPUT.split('/') as [string, string]
  const [ct, mac] = rest.split(':') as [string, string]
  t.equal(transformer.transformRead(`${iv.toUpperCase()}/${ct}:${mac}`), KTOR_INPUT)
  t.equal(transformer.transformRead(`${iv}/${ct.toUpperCase()}:${mac}`), KTOR_INPUT)
  t.equal(transformer.transformRead(`${iv}/${ct}:${mac.toUpperCase()}`), null)
})

test('tamper matrix: every change to the ciphertext or MAC reads as absent', async (t) => {
  const transformer = ktorEncrypt({ encryptionKey: ENC_256, signKey: SIGN_32 })
  const written = transformer.transformWrite(PLAIN)
  let checked = 0
  for (let i = 33; i < written.length; i++) {
    if (written[i] === ':') continue
    for (const c of ['0', '9', 'a', 'f', 'g', 'Z', '/', ':', ' ']) {
      if (c === written[i]) continue
      const changed = written.slice(0, i) + c + written.slice(i + 1)
      const result = transformer.transformRead(changed)
      // Uppercasing a ciphertext digit is the same value in Ktor's hex.
      if (c.toLowerCase() === written[i]) t.equal(result, PLAIN)
      else if (result !== null) t.fail(`position ${i} changed to ${c} read as ${result}`)
      checked++
    }
  }
  t.ok(checked > 500)
})

test('the IV is not authenticated (Ktor\'s weakness): an IV change rewrites the first block', async (t) => {
  const transformer = ktorEncrypt({ encryptionKey: ENC_256, signKey: SIGN_32 })
  const written = transformer.transformWrite(PLAIN)
  const iv = Buffer.from(written.slice(0, 32), 'hex')
  iv[0] = (iv[0] as number) ^ ('{'.charCodeAt(0) ^ '['.charCodeAt(0))
  t.equal(transformer.transformRead(iv.toString('hex') + written.slice(32)), '[' + PLAIN.slice(1))
})

test('tamper matrix: truncation, extension, swapped parts, wrong key and wrong algorithm read as absent', async (t) => {
  const transformer = ktorEncrypt({ encryptionKey: ENC_256, signKey: SIGN_32 })
  const a = transformer.transformWrite(PLAIN)
  const b = transformer.transformWrite('{"username":"Jane","count":2}')
  const [ivA, restA] = a.split('/') as [string, string]
  const [ctA, macA] = restA.split(':') as [string, string]
  const restB = b.split('/')[1] as string
  const [ctB, macB] = restB.split(':') as [string, string]
  const cases: Record<string, string> = {
    'MAC of b': `${ivA}/${ctA}:${macB}`,
    'ciphertext of b': `${ivA}/${ctB}:${macA}`,
    'IV and MAC swapped': `${macA}/${ctA}:${ivA}`,
    'ciphertext and MAC swapped': `${ivA}/${macA}:${ctA}`,
    'separators swapped': `${ivA}:${ctA}/${macA}`,
    'no IV': `${ctA}:${macA}`,
    'a block dropped': `${ivA}/${ctA.slice(32)}:${macA}`,
    'a block repeated': `${ivA}/${ctA}${ctA.slice(0, 32)}:${macA}`,
    'odd-length IV': `${ivA}0/${ctA}:${macA}`,
    'IV of 15 bytes': `${ivA.slice(2)}/${ctA}:${macA}`,
    'empty ciphertext': `${ivA}/:${macA}`,
    'a second MAC': `${ivA}/${ctA}:${macA}:${macA}`,
    'trailing slash': `${a}/`,
  }
  for (const [name, value] of Object.entries(cases)) t.equal(transformer.transformRead(value), null, name)
  for (let i = 0; i < a.length; i++) t.equal(transformer.transformRead(a.slice(0, i)), null, `first ${i} characters`)
  t.equal(ktorEncrypt({ encryptionKey: ENC_256, signKey: KTOR_SIGN }).transformRead(a), null, 'wrong sign key')
  t.equal(ktorEncrypt({ encryptionKey: KTOR_ENC, signKey: SIGN_32 }).transformRead(a), null, 'wrong encryption key')
  t.equal(ktorEncrypt({ encryptionKey: ENC_256, signKey: SIGN_32, signAlgorithm: 'HmacSHA512' }).transformRead(a), null, 'wrong algorithm')
  const sha512 = ktorEncrypt({ encryptionKey: ENC_256, signKey: SIGN_32, signAlgorithm: 'HmacSHA512' })
  t.match(sha512.transformWrite(PLAIN), /:[0-9a-f]{128}$/)
  t.equal(transformer.transformRead(sha512.transformWrite(PLAIN)), null)
})
