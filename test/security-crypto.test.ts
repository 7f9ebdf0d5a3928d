// Security checklist (SECURITY.md): MAC comparison, the Ktor Encrypt IV, and unsigned values.
import * as crypto from 'node:crypto'
import { Writable } from 'node:stream'
import Fastify from 'fastify'
import { test } from 'tap'
import Type from 'typebox'
import sessions, { cookieSession, ktorEncrypt } from '../lib/index.js'
import { buildApp, cookiesOf, fakeClock } from './helpers/app.js'

type MessageAuthenticationModule = typeof import('../transformers/message-authentication.js')
type KtorEncryptModule = typeof import('../transformers/ktor-encrypt.js')
type DigestModule = typeof import('../transformers/digest.js')

test('every MAC and digest check goes through crypto.timingSafeEqual, for good and for bad values', async (t) => {
  let compared = 0
  const spied = {
    ...crypto,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      compared++
      return crypto.timingSafeEqual(a, b)
    },
  }
  const mocks = { 'node:crypto': spied }
  const { messageAuthentication } = await t.mockImport<MessageAuthenticationModule>('../transformers/message-authentication.js', mocks)
  const { ktorEncrypt: spiedKtorEncrypt } = await t.mockImport<KtorEncryptModule>('../transformers/ktor-encrypt.js', mocks)
  const { digest } = await t.mockImport<DigestModule>('../transformers/digest.js', mocks)
  const key = crypto.randomBytes(32)
  const transformers = {
    messageAuthentication: messageAuthentication({ key }),
    ktorEncrypt: spiedKtorEncrypt({ encryptionKey: key, signKey: key }),
    digest: digest(),
  }
  for (const [name, transformer] of Object.entries(transformers)) {
    const written = transformer.transformWrite('{"username":"alice"}')
    compared = 0
    t.equal(transformer.transformRead(written), '{"username":"alice"}', `${name}: a good value reads`)
    t.ok(compared >= 1, `${name}: the good value was compared with timingSafeEqual`)
    // The last hex digit of the MAC changed: same length, so only the comparison can refuse it.
    const last = written.at(-1) === '0' ? '1' : '0'
    compared = 0
    t.equal(transformer.transformRead(written.slice(0, -1) + last), null, `${name}: a wrong MAC is refused`)
    t.ok(compared >= 1, `${name}: the wrong MAC was compared with timingSafeEqual`)
  }
})

test('ktorEncrypt with the envelope: an IV bit-flip cannot move the idle clock', async (t) => {
  const clock = fakeClock(t, 1_700_000_000_000)
  const schema = Type.Object({ username: Type.String() })
  const session = cookieSession('S', schema, {
    idleTimeout: 3600,
    maxAge: 30 * 86400,
    transformers: [ktorEncrypt({ encryptionKey: crypto.randomBytes(32), signKey: crypto.randomBytes(32) })],
  })
  const app = await buildApp(t, [session])
  app.get('/set', async (request) => { request.sessions.set(session, { username: 'alice' }); return 'ok' })
  app.get('/read', async (request) => ({ s: request.sessions.get(session) }))
  const set = await app.inject('/set')
  const cookie = cookiesOf(set.headers['set-cookie'])
  const wire = set.cookies[0]?.value ?? ''
  // In the version 1 envelope, 1:S:<created>:<seen>:<expires>:<payload>, bytes 13..15 were seen's top
  // digits; a forger who assumes that layout moves seen by 36^5 ms. Today they are the constant head.
  const now36 = clock.now.toString(36)
  const plain = `1:S:${now36}:${now36}:`
  const at = 15
  const from = plain.charCodeAt(at)
  const to = (parseInt(plain[at] as string, 36) + 1).toString(36).charCodeAt(0) // seen + 36^5 ms (~16.8 h)
  const iv = Buffer.from(wire.slice(0, 32), 'hex')
  iv[at] = (iv[at] as number) ^ from ^ to
  const forged = 'S=' + encodeURIComponent(iv.toString('hex') + wire.slice(32))

  clock.advance(2 * 3600_000) // two hours without a request: idle for twice the window
  t.same((await app.inject({ url: '/read', headers: { cookie } })).json(), { s: null }, 'the real cookie is idle')
  t.same((await app.inject({ url: '/read', headers: { cookie: forged } })).json(), { s: null }, 'the forged cookie is idle too')
})

test('a client-side session with neither a MAC nor encryption is refused or warned about at registration', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  const plain = cookieSession('PLAIN', Type.Object({ admin: Type.Boolean() }))
  const app = Fastify({ logger: { level: 'warn', stream } })
  t.teardown(() => app.close())
  let refused: string | undefined
  try {
    await app.register(sessions, { providers: [plain] })
    await app.ready()
  } catch (error) {
    refused = (error as { code?: string }).code
  }
  const warned = lines.some((line) => line.includes('PLAIN') && JSON.parse(line).level === 40)
  t.ok(refused === 'FST_SESSIONS_OPTIONS' || warned, 'refused with FST_SESSIONS_OPTIONS, or a warning names the provider')
})
