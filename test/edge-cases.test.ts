import { test } from 'tap'
import Type from 'typebox'
import { cookieSession, headerSession, hex, messageAuthentication } from '../lib/index.js'
import { buildApp, cookiesOf, KEY_HEX, RecordingStorage } from './helpers/app.js'

const key = hex(KEY_HEX)

test('Vary names every session header, even when one name is part of another', async (t) => {
  const long = headerSession('X-Session-Token', Type.Object({ a: Type.String() }), { transformers: [messageAuthentication({ key })] })
  const short = headerSession('X-Session', Type.Object({ b: Type.String() }), { transformers: [messageAuthentication({ key })] })
  const app = await buildApp(t, [long, short])
  app.get('/', async (request) => {
    request.sessions.set(long, { a: '1' })
    request.sessions.set(short, { b: '2' })
    return 'ok'
  })
  t.equal((await app.inject('/')).headers.vary, 'X-Session-Token, X-Session')
})

test('a transformer that throws on what the client sent makes the session absent, not the request fail', async (t) => {
  const reasons: string[] = []
  const fragile = cookieSession('FRAGILE', Type.Object({ a: Type.String() }), {
    transformers: [messageAuthentication({ key }), {
      transformWrite: (v) => Buffer.from(v).toString('base64url'),
      transformRead: (v) => JSON.stringify(JSON.parse(Buffer.from(v, 'base64url').toString())),
    }],
  })
  const app = await buildApp(t, [fragile], { onInvalid: (reason) => { reasons.push(reason) } })
  app.get('/', async (request) => ({ s: request.sessions.get(fragile) }))
  const res = await app.inject({ url: '/', headers: { cookie: 'FRAGILE=not-json' } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { s: null })
  t.same(reasons, ['bad-signature'])
})

test('an idPattern with the g or y flag judges every request alike', async (t) => {
  const storage = new RecordingStorage()
  let n = 0
  const login = cookieSession('LOGIN', Type.Object({ a: Type.String() }), { storage, identity: () => `id-${++n}`, idPattern: /^id-\d+$/gy })
  const app = await buildApp(t, [login])
  app.get('/set', async (request) => { request.sessions.set(login, { a: 'x' }); return 'ok' })
  app.get('/read', async (request) => ({ s: request.sessions.get(login) }))
  const cookie = cookiesOf((await app.inject('/set')).headers['set-cookie'])
  for (let i = 0; i < 4; i++) t.same((await app.inject({ url: '/read', headers: { cookie } })).json(), { s: { a: 'x' } }, `read ${i + 1}`)
})

test('the 4096-byte limit counts name=value exactly', async (t) => {
  const plain = cookieSession('C', Type.Object({ v: Type.String() }), {
    envelope: false,
    serializer: { serialize: (x) => x.v, deserialize: (v) => ({ v }) },
    transformers: [{ transformRead: (v) => v, transformWrite: (v) => v }],
  })
  const app = await buildApp(t, [plain])
  app.get('/', async (request) => {
    const size = Number((request.query as { size: string }).size)
    try {
      request.sessions.set(plain, { v: 'x'.repeat(size - 2) })
      return 'set'
    } catch (error) {
      return (error as { code: string }).code
    }
  })
  t.equal((await app.inject('/?size=4096')).body, 'set', 'C= plus 4094 bytes is 4096')
  t.equal((await app.inject('/?size=4097')).body, 'FST_SESSIONS_TOO_LARGE')
})
