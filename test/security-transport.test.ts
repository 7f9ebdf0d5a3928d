// Security checklist (SECURITY.md): where session values travel and how they are written.
import { test } from 'tap'
import Type from 'typebox'
import { cookieSession, headerSession, hex, memoryStorage, messageAuthentication } from '../lib/index.js'
import { buildApp, cookiesOf, KEY_HEX, parseSetCookie, setCookies } from './helpers/app.js'

const key = hex(KEY_HEX)
const Login = () => Type.Object({ username: Type.String() })

test('a session value in the query string or the body is never read: only the cookie or the header carries it', async (t) => {
  const login = cookieSession('LOGIN', Login(), { storage: memoryStorage() })
  const api = headerSession('X-Session', Login(), { storage: memoryStorage() })
  const app = await buildApp(t, [login, api])
  app.get('/login', async (request) => {
    request.sessions.set(login, { username: 'alice' })
    request.sessions.set(api, { username: 'bob' })
    return 'ok'
  })
  const read = async (request: { sessions: { get (p: unknown): unknown } }) => [request.sessions.get(login), request.sessions.get(api)]
  app.get('/read', read)
  app.post('/read', read)
  const set = await app.inject('/login')
  const cookie = cookiesOf(set.headers['set-cookie'])
  const id = set.cookies[0]?.value ?? ''
  const header = set.headers['x-session'] as string
  t.ok(id.length >= 43 && header.length >= 43, 'both sessions were issued')

  const control = await app.inject({ url: '/read', headers: { cookie, 'x-session': header } })
  t.same(control.json(), [{ username: 'alice' }, { username: 'bob' }], 'the cookie and the header do carry them')
  const query = await app.inject({ url: '/read', query: { LOGIN: id, 'X-Session': header, 'x-session': header } })
  t.same(query.json(), [null, null], 'ids in the query string are ignored')
  const body = await app.inject({ method: 'POST', url: '/read', payload: { LOGIN: id, 'X-Session': header } })
  t.same(body.json(), [null, null], 'ids in the body are ignored')
  const form = await app.inject({
    method: 'POST',
    url: '/read',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `LOGIN=${id}`,
  })
  t.ok(form.statusCode === 415 || form.json()[0] === null, 'ids in a form body are ignored')
})

test('a payload full of cookie syntax never adds an attribute or a header, in any encoding', async (t) => {
  const hostile = 'x; Domain=evil.example; Path=/; Max-Age=999999999, B=c\r\nSet-Cookie: injected=1; "q" \\ \u0000 é'
  for (const encoding of ['uri', 'base64', 'dquotes', 'raw'] as const) {
    for (const transformers of [[], [messageAuthentication({ key })]]) {
      const name = 'S_' + encoding.toUpperCase()
      const label = `${encoding}${transformers.length > 0 ? ' + MAC' : ''}`
      let session
      try {
        session = cookieSession(name, Login(), { transformers, cookie: { encoding } })
      } catch (error) {
        // JSON always holds quotes, which dquotes cannot carry: refused when the provider is made.
        t.equal((error as { code?: string }).code, 'FST_SESSIONS_OPTIONS', `${label}: refused at the factory`)
        t.equal(encoding, 'dquotes', `${label}: only dquotes with JSON is refused at the factory`)
        continue
      }
      const app = await buildApp(t, [session])
      app.get('/', async (request) => {
        try {
          request.sessions.set(session, { username: hostile })
          return 'set'
        } catch (error) {
          return (error as { code?: string }).code
        }
      })
      const res = await app.inject('/')
      const lines = setCookies(res.headers['set-cookie'])
      if (res.body !== 'set') {
        // The encoding cannot carry the value: refused at set, nothing sent.
        t.equal(res.body, 'FST_SESSIONS_INVALID_PAYLOAD', `${label}: refused at set`)
        t.same(lines, [], `${label}: nothing sent`)
        t.ok(encoding === 'dquotes' || encoding === 'raw', `${label}: only dquotes and raw refuse`)
        continue
      }
      t.equal(lines.length, 1, `${label}: one Set-Cookie line`)
      const line = lines[0] as string
      t.notOk(/[\r\n]/.test(line) || line.includes('\u0000'), `${label}: no line break or NUL`)
      const cookie = parseSetCookie(line)
      t.same(Object.keys(cookie).sort(), ['expires', 'httponly', 'max-age', 'name', 'path', 'samesite', 'value'], `${label}: only the provider's attributes`)
      t.equal(cookie['path'], '/')
      t.equal(cookie['max-age'], '604800')
      t.notMatch(cookie['value'] as string, /[;,\s"\\]/, `${label}: the value holds no separator`)
      t.notOk(line.includes('$x-enc') || /ktor|fastify/i.test(line), `${label}: the line does not name the framework`)
      const back = await app.inject({ url: '/', headers: { cookie: cookiesOf(line) } })
      t.equal(back.statusCode, 200)
    }
  }
})

test('a header session refuses at set a payload its header cannot carry, instead of failing the response', async (t) => {
  const api = headerSession('X-Session', Login(), { transformers: [messageAuthentication({ key })] })
  const app = await buildApp(t, [api])
  app.get<{ Querystring: { name: string } }>('/', async (request) => {
    try {
      request.sessions.set(api, { username: String(request.query.name) })
      return 'set'
    } catch (error) {
      return (error as { code?: string }).code
    }
  })
  for (const name of ['J\u00f6rg \u20ac \u{1F600}', 'delete \u007f']) {
    const res = await app.inject({ url: '/', query: { name } })
    t.not(res.statusCode, 500, `${JSON.stringify(name)}: the response does not fail at send`)
    t.equal(res.body, 'FST_SESSIONS_INVALID_PAYLOAD', `${JSON.stringify(name)}: set refuses the payload, so the handler can act on it`)
  }
})
