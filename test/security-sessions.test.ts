// Security checklist (SECURITY.md): ids, fixation, revocation and file-store paths.
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'tap'
import Type from 'typebox'
import { cookieSession, directoryStorage, hex, memoryStorage, messageAuthentication, type SessionStorage } from '../lib/index.js'
import { buildApp, cookiesOf, fakeClock, KEY_HEX, setCookies } from './helpers/app.js'

const Login = () => Type.Object({ username: Type.String() })

test('default ids carry 256 bits from the CSPRNG: 43 base64url characters, all distinct, every bit position varies', async (t) => {
  const login = cookieSession('LOGIN', Login(), { storage: memoryStorage() })
  const app = await buildApp(t, [login])
  app.get('/', async (request) => { request.sessions.set(login, { username: 'a' }); return 'ok' })
  const N = 2000
  const ids = new Set<string>()
  const ones = new Array<number>(256).fill(0)
  for (let i = 0; i < N; i++) {
    const res = await app.inject('/')
    const id = res.cookies[0]?.value ?? ''
    ids.add(id)
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) t.fail(`id of an unexpected form: ${id}`)
    const bytes = Buffer.from(id, 'base64url')
    if (bytes.length !== 32) t.fail('an id does not decode to 32 bytes')
    for (let bit = 0; bit < 256; bit++) ones[bit] = (ones[bit] as number) + ((bytes[bit >> 3] as number) >> (7 - (bit & 7)) & 1)
  }
  t.equal(ids.size, N, 'no id repeats')
  // Each bit is set in about half of the ids (binomial, sd ~ 1.1% here): 40% to 60% never fails by chance.
  const skewed = ones.map((n, bit) => [bit, n / N] as const).filter(([, p]) => p < 0.4 || p > 0.6)
  t.same(skewed, [], 'every one of the 256 bits varies like a fair coin')
})

test('clear then set in one request issues a fresh id, and the cleared id is dead', async (t) => {
  const login = cookieSession('LOGIN', Login(), { storage: memoryStorage() })
  const app = await buildApp(t, [login])
  app.get('/login', async (request) => { request.sessions.set(login, { username: 'anonymous' }); return 'ok' })
  app.get('/relogin', async (request) => {
    request.sessions.clear(login)
    request.sessions.set(login, { username: 'admin' })
    return 'ok'
  })
  app.get('/read', async (request) => ({ s: request.sessions.get(login) }))
  const first = cookiesOf((await app.inject('/login')).headers['set-cookie'])
  const relogin = await app.inject({ url: '/relogin', headers: { cookie: first } })
  t.equal(relogin.cookies.length, 1, 'one Set-Cookie line')
  const second = cookiesOf(relogin.headers['set-cookie'])
  t.not(second, first, 'the id changed (Ktor keeps it)')
  t.same((await app.inject({ url: '/read', headers: { cookie: first } })).json(), { s: null }, 'the old id reads nothing')
  t.same((await app.inject({ url: '/read', headers: { cookie: second } })).json(), { s: { username: 'admin' } })
})

test('with a permissive idPattern, hostile ids only ever reach a directory storage as hashed keys inside its directory', async (t) => {
  const parent = await mkdtemp(join(tmpdir(), 'fastify-sessions-traversal-'))
  t.teardown(() => rm(parent, { recursive: true, force: true }))
  const dir = join(parent, 'sessions')
  const inner = directoryStorage(dir, { sweepInterval: 0 })
  const keys: string[] = []
  const storage: SessionStorage = {
    read: (key) => { keys.push(key); return inner.read(key) },
    write: (key, value, expiresAt) => { keys.push(key); return inner.write(key, value, expiresAt) },
    invalidate: (key) => { keys.push(key); return inner.invalidate(key) },
    close: () => inner.close(),
  }
  let n = 0
  const login = cookieSession('LOGIN', Login(), {
    storage,
    // Server-made ids with path syntax in them, and a pattern that lets any presented id through.
    identity: () => `../../escaped-${n++}/..\\x`,
    idPattern: /^[\s\S]{1,300}$/,
  })
  const app = await buildApp(t, [login])
  app.get('/set', async (request) => { request.sessions.set(login, { username: 'a' }); return 'ok' })
  app.get('/read', async (request) => ({ s: request.sessions.get(login) }))
  const set = await app.inject('/set')
  const cookie = cookiesOf(set.headers['set-cookie'])
  t.same((await app.inject({ url: '/read', headers: { cookie } })).json(), { s: { username: 'a' } }, 'the id works')
  for (const hostile of ['../../../../etc/passwd', '..%2F..%2Fetc%2Fpasswd', '/etc/passwd', 'C:\\Windows\\win.ini', '%00', '....//....//x', 'sess:*']) {
    const res = await app.inject({ url: '/read', headers: { cookie: 'LOGIN=' + encodeURIComponent(hostile) } })
    t.same(res.json(), { s: null }, `${hostile} reads nothing`)
  }
  t.ok(keys.length >= 9, 'the hostile ids did reach the storage')
  t.same(keys.filter((key) => !/^[A-Za-z0-9_-]{43}$/.test(key)), [], 'every key the storage saw is a 43-character hash')
  t.same(await readdir(parent), ['sessions'], 'nothing was created beside the directory')
  const entries = await readdir(dir, { recursive: true })
  t.same(entries.filter((entry) => !/^[0-9a-f]{2}(?:[/\\][0-9a-f]{64})?$/.test(entry)), [], 'only hashed folders and files inside it')
  t.equal(entries.length, 2, 'one folder, one record')
})

test('a client-side value copied before clear still reads until its own expiry, and never after (a documented limit)', async (t) => {
  const clock = fakeClock(t)
  const cart = cookieSession('CART', Login(), { maxAge: 600, transformers: [messageAuthentication({ key: hex(KEY_HEX) })] })
  const app = await buildApp(t, [cart])
  app.get('/set', async (request) => { request.sessions.set(cart, { username: 'a' }); return 'ok' })
  app.get('/clear', async (request) => { request.sessions.clear(cart); return 'ok' })
  app.get('/read', async (request) => ({ s: request.sessions.get(cart) }))
  const copied = cookiesOf((await app.inject('/set')).headers['set-cookie'])
  const cleared = await app.inject({ url: '/clear', headers: { cookie: copied } })
  t.match(setCookies(cleared.headers['set-cookie'])[0], /^CART=; Max-Age=0;/, 'the browser is told to drop it')
  clock.advance(599_000)
  t.same((await app.inject({ url: '/read', headers: { cookie: copied } })).json(), { s: { username: 'a' } },
    'a client-side value cannot be revoked before its expiry: use a storage for sessions that must be')
  clock.advance(1_000)
  t.same((await app.inject({ url: '/read', headers: { cookie: copied } })).json(), { s: null }, 'the copy is dead at its expiry')
})
