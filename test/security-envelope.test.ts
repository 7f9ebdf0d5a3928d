// The client-side envelope against Ktor Encrypt's unauthenticated IV, and against providers that
// share a key with and without the envelope (issue 12).
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { test } from 'tap'
import Type from 'typebox'
import { cookieSession, encrypt, ktorEncrypt, ktorSerializer, messageAuthentication, type SessionProvider } from '../lib/index.js'
import type { SessionTransportTransformer } from '../lib/index.js'
import { buildApp, cookiesOf, fakeClock } from './helpers/app.js'

const Account = Type.Object({ role: Type.String(), id: Type.Optional(Type.Integer()) })
const TEN_YEARS = 10 * 365 * 86400_000

/** An app with /set (an admin session with id 7) and /read on one provider. */
async function accountApp (t: Parameters<typeof buildApp>[0], providers: Array<SessionProvider<any>>): Promise<FastifyInstance> {
  const app = await buildApp(t, providers)
  const [writer] = providers as [SessionProvider<typeof Account.static>]
  app.get('/set', async (request) => { request.sessions.set(writer, { role: 'admin', id: 7 }); return 'ok' })
  app.get('/read', async (request) => Object.fromEntries(providers.map((p) => [p.name, request.sessions.get(p)])))
  return app
}

/**
 * Rewrites the first 16 plaintext bytes of a Ktor Encrypt value by XOR into its IV, knowing (or
 * guessing) what they were: the attack Ktor's format allows, since its MAC covers only the ciphertext.
 */
function rewriteFirstBlock (wire: string, known: string, wanted: string): string {
  const iv = Buffer.from(wire.slice(0, 32), 'hex')
  const from = Buffer.from(known, 'latin1')
  const to = Buffer.from(wanted, 'latin1')
  for (let i = 0; i < 16; i++) iv[i] = (iv[i] as number) ^ (from[i] as number) ^ (to[i] as number)
  return iv.toString('hex') + wire.slice(32)
}

// What the first 16 bytes of a v1 envelope held, the only format there was before the fix:
// 1:<name>:<created>:<seen> with both times the issue millisecond in base 36.
function v1Head (name: string, now: number): string {
  const time = now.toString(36)
  return `1:${name}:${time}:${time}`.slice(0, 16)
}

for (const [attack, wanted, expected] of [
  ['empties the expiry field', '1:S:0:0::&&&&&&&', { role: 'admin' }],
  ['injects a field', '1:S:0:0::id=#i1&', { role: 'admin', id: 1 }],
] as const) {
  test(`ktorEncrypt with the envelope: an IV rewrite that ${attack} is refused, ten years later`, async (t) => {
    const clock = fakeClock(t, 1_700_000_000_000)
    const key = { encryptionKey: randomBytes(32), signKey: randomBytes(32) }
    const session = cookieSession('S', Account, { serializer: ktorSerializer(Account), transformers: [ktorEncrypt(key)] })
    const app = await accountApp(t, [session])
    const cookie = cookiesOf((await app.inject('/set')).headers['set-cookie'])
    const wire = decodeURIComponent(cookie.slice('S='.length))
    clock.advance(TEN_YEARS)
    t.same((await app.inject({ url: '/read', headers: { cookie } })).json(), { S: null }, 'the real cookie has expired')

    // The forger does not know what the head holds today; they try the old layout and the new.
    const readable: unknown[] = []
    for (const known of [v1Head('S', clock.now - TEN_YEARS), '2:fixed.16bytes:']) {
      const forged = 'S=' + encodeURIComponent(rewriteFirstBlock(wire, known, wanted))
      const read = (await app.inject({ url: '/read', headers: { cookie: forged } })).json() as { S: unknown }
      if (read.S !== null) readable.push(read.S)
    }
    t.same(readable, [], `no forgery reads (before the fix: ${JSON.stringify(expected)})`)
  })
}

test('a forged v1 value made from a real v1 value is refused by a ktorEncrypt provider', async (t) => {
  const clock = fakeClock(t, 1_700_000_000_000)
  const key = { encryptionKey: randomBytes(32), signKey: randomBytes(32) }
  const transformer = ktorEncrypt(key)
  const session = cookieSession('S', Account, { serializer: ktorSerializer(Account), transformers: [ktorEncrypt(key)] })
  const app = await accountApp(t, [session])
  // A value in the old format, as the previous release wrote it for this provider.
  const time = clock.now.toString(36)
  const expires = (clock.now + 7 * 86400_000).toString(36)
  const old = transformer.transformWrite(`1:S:${time}:${time}:${expires}:id=#i7&role=#sadmin`)
  clock.advance(TEN_YEARS)
  const forged = rewriteFirstBlock(old, v1Head('S', clock.now - TEN_YEARS), '1:S:0:0::&&&&&&&')
  t.same((await app.inject({ url: '/read', headers: { cookie: 'S=' + encodeURIComponent(forged) } })).json(), { S: null })
})

test('a value in the previous envelope format (v1) still reads with messageAuthentication and encrypt, not with ktorEncrypt', async (t) => {
  const clock = fakeClock(t, 1_700_000_000_000)
  const time = clock.now.toString(36)
  const expires = (clock.now + 7 * 86400_000).toString(36)
  const v1 = `1:S:${time}:${time}:${expires}:id=#i7&role=#sadmin`
  const ktorKey = { encryptionKey: randomBytes(32), signKey: randomBytes(32) }
  const cases: Array<[string, () => SessionTransportTransformer, boolean]> = [
    ['messageAuthentication', ((k) => () => messageAuthentication({ key: k }))(randomBytes(32)), true],
    ['encrypt', ((k) => () => encrypt({ key: k }))(randomBytes(32)), true],
    ['ktorEncrypt', () => ktorEncrypt(ktorKey), false],
  ]
  for (const [name, make, reads] of cases) {
    const session = cookieSession('S', Account, { serializer: ktorSerializer(Account), transformers: [make()] })
    const app = await accountApp(t, [session])
    const cookie = 'S=' + encodeURIComponent(make().transformWrite(v1))
    clock.advance(1000)
    const read = (await app.inject({ url: '/read', headers: { cookie } })).json()
    t.same(read, { S: reads ? { role: 'admin', id: 7 } : null }, `${name}: ${reads ? 'reads' : 'refused'}`)
  }
})
