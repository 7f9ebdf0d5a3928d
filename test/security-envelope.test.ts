// The client-side envelope against Ktor Encrypt's unauthenticated IV, and against providers that
// share a key with and without the envelope (issue 12).
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { test } from 'tap'
import Type, { type Static } from 'typebox'
import { cookieSession, encrypt, ktorEncrypt, ktorSerializer, messageAuthentication, type SessionProvider } from '../lib/index.js'
import type { SessionTransportTransformer } from '../lib/index.js'
import { buildApp, cookiesOf, fakeClock } from './helpers/app.js'

const Account = Type.Object({ role: Type.String(), id: Type.Optional(Type.Integer()) })
const TEN_YEARS = 10 * 365 * 86400_000

/** An app with /set (an admin session with id 7) and /read on one provider. */
async function accountApp (t: Parameters<typeof buildApp>[0], providers: Array<SessionProvider<any>>): Promise<FastifyInstance> {
  const app = await buildApp(t, providers)
  const [writer] = providers as [SessionProvider<Static<typeof Account>>]
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

test('ktorEncrypt with the envelope: IV rewrites that empty the expiry or inject a field are refused, ten years later', async (t) => {
  const clock = fakeClock(t)
  for (const [attack, wanted, before] of [
    ['empty the expiry field', '1:S:0:0::&&&&&&&', { role: 'admin' }],
    ['inject a field', '1:S:0:0::id=#i1&', { role: 'admin', id: 1 }],
  ] as const) {
    clock.now = 1_700_000_000_000
    const key = { encryptionKey: randomBytes(32), signKey: randomBytes(32) }
    const session = cookieSession('S', Account, { serializer: ktorSerializer(Account), transformers: [ktorEncrypt(key)] })
    const app = await accountApp(t, [session])
    const set = await app.inject('/set')
    const cookie = cookiesOf(set.headers['set-cookie'])
    const wire = set.cookies[0]?.value ?? ''
    clock.advance(TEN_YEARS)
    t.same((await app.inject({ url: '/read', headers: { cookie } })).json(), { S: null }, `${attack}: the real cookie has expired`)

    // The forger does not know which layout the value has; they try the old one and the new one.
    const readable: unknown[] = []
    for (const known of [v1Head('S', clock.now - TEN_YEARS), '2:fixed-block16:']) {
      const forged = 'S=' + encodeURIComponent(rewriteFirstBlock(wire, known, wanted))
      const read = (await app.inject({ url: '/read', headers: { cookie: forged } })).json() as { S: unknown }
      if (read.S !== null) readable.push(read.S)
    }
    t.same(readable, [], `${attack}: no forgery reads (before the fix: ${JSON.stringify(before)})`)
  }
})

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

test('the first 16 bytes of every envelope are one constant, whatever the provider, payload or time', async (t) => {
  const clock = fakeClock(t, 1_700_000_000_000)
  // With one key and one IV, equal first ciphertext blocks mean equal first plaintext blocks.
  const iv = Buffer.alloc(16, 7)
  const key = { encryptionKey: randomBytes(32), signKey: randomBytes(32), ivGenerator: () => iv }
  const firstBlocks = new Set<string>()
  for (const name of ['S', 'LONG_PROVIDER_NAME_X', 'a']) {
    const session = cookieSession(name, Account, { serializer: ktorSerializer(Account), transformers: [ktorEncrypt(key)] })
    const app = await buildApp(t, [session])
    app.get('/set', async (request) => { request.sessions.set(session, { role: name, id: name.length }); return 'ok' })
    const wire = decodeURIComponent(cookiesOf((await app.inject('/set')).headers['set-cookie']).slice(name.length + 1))
    firstBlocks.add(wire.slice(33, 33 + 32))
    clock.advance(123_456_789)
  }
  t.equal(firstBlocks.size, 1)
})

test('a transformer that lets more than 16 leading bytes be rewritten is refused with the envelope', async (t) => {
  const loose: SessionTransportTransformer = { malleablePrefix: 32, transformRead: (v) => v, transformWrite: (v) => v }
  t.throws(() => cookieSession('S', Account, { transformers: [loose] }), { code: 'FST_SESSIONS_OPTIONS' })
  t.doesNotThrow(() => cookieSession('S', Account, { transformers: [loose], envelope: false }))
})

// Two services (or two deployments) with one cookie name and one key, one of them without the envelope.
test('providers sharing a key with and without the envelope never read each other\'s values (ktorSerializer; MAC and ktorEncrypt)', async (t) => {
  fakeClock(t, 1_700_000_000_000)
  for (const [name, make] of [
    ['messageAuthentication', (key: Buffer) => messageAuthentication({ key })],
    ['ktorEncrypt', (key: Buffer) => ktorEncrypt({ encryptionKey: key, signKey: key })],
  ] as const) {
    const key = randomBytes(32)
    const enveloped = cookieSession('S', Account, { serializer: ktorSerializer(Account), transformers: [make(key)] })
    const bare = cookieSession('S', Account, { serializer: ktorSerializer(Account), transformers: [make(key)], envelope: false })
    const withEnvelope = await accountApp(t, [enveloped])
    const without = await accountApp(t, [bare])
    const fromEnveloped = cookiesOf((await withEnvelope.inject('/set')).headers['set-cookie'])
    const fromBare = cookiesOf((await without.inject('/set')).headers['set-cookie'])
    t.same((await withEnvelope.inject({ url: '/read', headers: { cookie: fromEnveloped } })).json(), { S: { role: 'admin', id: 7 } }, `${name}: each reads its own`)
    t.same((await without.inject({ url: '/read', headers: { cookie: fromBare } })).json(), { S: { role: 'admin', id: 7 } }, `${name}: each reads its own`)
    t.same((await without.inject({ url: '/read', headers: { cookie: fromEnveloped } })).json(), { S: null }, `${name}: enveloped value, provider without the envelope`)
    t.same((await withEnvelope.inject({ url: '/read', headers: { cookie: fromBare } })).json(), { S: null }, `${name}: bare value, enveloped provider`)
  }
})

test('without the envelope, a payload that would read as an envelope is refused at set', async (t) => {
  const Text = Type.Object({ note: Type.String() })
  // A serializer of the application's own that writes the text as given.
  const verbatim = { serialize: (value: { note: string }) => value.note, deserialize: (text: string) => ({ note: text }) }
  const bare = cookieSession('S', Text, { serializer: verbatim, transformers: [messageAuthentication({ key: randomBytes(32) })], envelope: false })
  const app = await buildApp(t, [bare])
  app.get('/set/:note', async (request) => {
    request.sessions.set(bare, { note: (request.params as { note: string }).note })
    return 'ok'
  })
  t.equal((await app.inject('/set/hello')).statusCode, 200)
  for (const note of ['2:fixed-block16:S:0:0::x', '1:S:0:0::x']) {
    const response = await app.inject('/set/' + encodeURIComponent(note))
    t.equal(response.statusCode, 500, note)
    t.equal(response.json().code, 'FST_SESSIONS_INVALID_PAYLOAD', note)
  }
})
