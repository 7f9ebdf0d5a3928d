import { createDecipheriv, createHmac } from 'node:crypto'
import Fastify from 'fastify'
import { test } from 'tap'
import Type from 'typebox'
import sessions, { cookieSession } from '../lib/index.js'
import { decodeUri } from '../lib/cookie-encoding.js'
import type { SessionTransportTransformer } from '../transformers/transformer.js'
import { messageAuthentication } from '../transformers/message-authentication.js'
import { ktorEncrypt } from '../transformers/ktor-encrypt.js'
import { encrypt } from '../transformers/encrypt.js'
import { hex } from '../transformers/keys.js'
import { rawCookieValues } from './helpers/app.js'

// Ktor's chain: transformWrite in registration order, transformRead in reverse.
const writeChain = (chain: SessionTransportTransformer[], v: string): string => chain.reduce((acc, t) => t.transformWrite(acc), v)
const readChain = (chain: SessionTransportTransformer[], v: string): string | null =>
  chain.reduceRight<string | null>((acc, t) => acc === null ? null : t.transformRead(acc), v)

const MAC_KEY = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f')
const ENC_KEY = hex('00112233445566778899aabbccddeeff')
const SIGN_KEY = hex('0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a09080706050403020100f')
const IV = hex('000102030405060708090a0b0c0d0e0f')
const PLAIN = '{"username":"John","count":1}'
const MAC_VECTOR = PLAIN + '/0ab564a5134a799ce24e843bf7f303a78e931ee99bf5a9d2d1966843b4af3b76'

const mac = () => messageAuthentication({ key: MAC_KEY })
const ktor = () => ktorEncrypt({ encryptionKey: ENC_KEY, signKey: SIGN_KEY, ivGenerator: () => IV })

// Ktor's Encrypt undone with plain node:crypto: MAC over the ciphertext, then AES-128-CBC.
function ktorDecrypt (value: string): string {
  const [iv, rest] = value.split('/') as [string, string]
  const [ct, macHex] = rest.split(':') as [string, string]
  if (createHmac('sha256', SIGN_KEY).update(Buffer.from(ct, 'hex')).digest('hex') !== macHex) throw new Error('bad MAC')
  const decipher = createDecipheriv('aes-128-cbc', ENC_KEY, Buffer.from(iv, 'hex'))
  return Buffer.concat([decipher.update(Buffer.from(ct, 'hex')), decipher.final()]).toString('utf8')
}

test('a chain writes in order: [MAC, Encrypt] encrypts the signed value, as Ktor does', async (t) => {
  const chain = [mac(), ktor()]
  const written = writeChain(chain, PLAIN)
  t.equal(written, ktor().transformWrite(MAC_VECTOR))
  t.equal(ktorDecrypt(written), MAC_VECTOR)
  t.equal(readChain(chain, written), PLAIN)
})

test('a chain reads in reverse: the reversed chain cannot read it', async (t) => {
  const written = writeChain([mac(), ktor()], PLAIN)
  t.equal(readChain([ktor(), mac()], written), null)
  t.equal(readChain([mac(), ktor()], writeChain([ktor(), mac()], PLAIN)), null)
})

test('a link that rejects makes the whole chain absent', async (t) => {
  const chain = [mac(), encrypt({ key: MAC_KEY })]
  const written = writeChain(chain, PLAIN)
  t.equal(readChain(chain, written), PLAIN)
  t.equal(readChain([messageAuthentication({ key: Buffer.alloc(32, 3) }), encrypt({ key: MAC_KEY })], written), null, 'inner link fails')
  t.equal(readChain([mac(), encrypt({ key: Buffer.alloc(32, 3) })], written), null, 'outer link fails')
})

test('the plugin applies a chain as Ktor does: the cookie decodes to Encrypt(MAC(value))', async (t) => {
  const Login = Type.Object({ username: Type.String(), count: Type.Integer() })
  const login = cookieSession('LOGIN', Login, { envelope: false, transformers: [mac(), ktor()] })
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(sessions, { providers: [login] })
  app.get('/set', async (request) => { request.sessions.set(login, { username: 'John', count: 1 }); return 'ok' })
  app.get('/get', async (request) => request.sessions.get(login))
  const res = await app.inject('/set')
  const value = decodeUri(rawCookieValues(res.headers['set-cookie']).get('LOGIN') ?? '') as string
  t.equal(value, ktor().transformWrite(MAC_VECTOR))
  // A value made the Ktor way reads back through the app.
  const back = await app.inject({ url: '/get', headers: { cookie: `LOGIN=${encodeURIComponent(writeChain([mac(), ktor()], PLAIN))}` } })
  t.same(back.json(), { username: 'John', count: 1 })
})
