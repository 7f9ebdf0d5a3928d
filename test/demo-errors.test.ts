// The demo's errors: a browser (Accept: text/html) gets a readable HTML page, an API client gets
// JSON with the error code, whatever the status. The 503 comes from a real redis-server, stopped.
import t, { type Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildDemo } from '../example/app.js'
import type { DemoKeys } from '../example/keys.js'
import { cookiesOf } from './helpers/app.js'
import { redisSkip, startRedis } from './helpers/redis.js'

const KEYS: DemoKeys = { mac: Buffer.alloc(32, 3), enc: Buffer.alloc(32, 4), generated: [] }
const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'
const API = 'application/json'

const skip = redisSkip(t)

async function demo (t: Test, redisUrl?: string): Promise<FastifyInstance> {
  const app = await buildDemo({ sessionsDir: t.testdir(), keys: KEYS, redisUrl })
  t.teardown(() => app.close())
  return app
}

function isHtmlPage (t: Test, res: LightMyRequestResponse, status: number, text: RegExp): void {
  t.equal(res.statusCode, status)
  t.match(res.headers['content-type'], /^text\/html; charset=utf-8/)
  t.match(res.body, /^<!doctype html>/i, 'a whole page, in the demo layout')
  t.match(res.body, /<nav|<header/, 'with the demo navigation')
  t.match(res.body, new RegExp(`<h1[^>]*>[^<]*${status}`), 'the status is in the title')
  t.match(res.body, text)
}

function isJsonError (t: Test, res: LightMyRequestResponse, status: number, code?: string): void {
  t.equal(res.statusCode, status)
  t.match(res.headers['content-type'], /^application\/json/)
  const body = res.json() as { statusCode: number, code?: string, error: string, message: string }
  t.equal(body.statusCode, status)
  if (code !== undefined) t.equal(body.code, code)
  t.type(body.message, 'string')
}

t.test('a Redis outage answers a browser with a readable 503 page and an API client with JSON', { skip }, async (t) => {
  const redis = await startRedis(t)
  const app = await demo(t, redis.url)
  const login = await app.inject({ method: 'POST', url: '/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'username=Ada' })
  t.equal(login.cookies[0]?.name, 'LOGIN_SESSION')
  const id = login.cookies[0]?.value ?? ''
  const cookie = cookiesOf(login.headers['set-cookie'])
  const apiLogin = await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'ada' } })
  const apiId = apiLogin.headers['x-api-session'] as string
  t.match((await app.inject({ url: '/', headers: { cookie, accept: BROWSER } })).body, /Hello, Ada/, 'served while Redis is up')

  await redis.kill()

  const page = await app.inject({ url: '/', headers: { cookie, accept: BROWSER } })
  isHtmlPage(t, page, 503, /session storage is not answering/i)
  t.match(page.body, 'FST_SESSIONS_STORAGE_UNAVAILABLE')
  t.notMatch(page.body, /at .*\.(js|ts):\d+/, 'no stack trace')
  t.notMatch(page.body, id, 'no session id')

  const api = await app.inject({ url: '/api/me', headers: { 'x-api-session': apiId, accept: API } })
  isJsonError(t, api, 503, 'FST_SESSIONS_STORAGE_UNAVAILABLE')
  t.notMatch(api.body, apiId, 'no session id')

  const curl = await app.inject({ url: '/api/me', headers: { 'x-api-session': apiId, accept: '*/*' } })
  isJsonError(t, curl, 503, 'FST_SESSIONS_STORAGE_UNAVAILABLE')
})

t.test('an unknown page is an HTML 404 for a browser and JSON for an API client', async (t) => {
  const app = await demo(t)
  isHtmlPage(t, await app.inject({ url: '/nowhere', headers: { accept: BROWSER } }), 404, /no page at <code>\/nowhere<\/code>/i)
  isJsonError(t, await app.inject({ url: '/api/nowhere', headers: { accept: API } }), 404)
  isJsonError(t, await app.inject({ url: '/nowhere' }), 404)
})

t.test('a refused form value is an HTML 400 for a browser and JSON for an API client', async (t) => {
  const app = await demo(t)
  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  isHtmlPage(t, await app.inject({ method: 'POST', url: '/shop/add', headers: { ...form, accept: BROWSER }, payload: 'product=caviar' }), 400, /unknown product/i)
  isHtmlPage(t, await app.inject({ method: 'POST', url: '/preferences', headers: { ...form, accept: BROWSER }, payload: 'theme=purple' }), 400, /light or dark/)
  isJsonError(t, await app.inject({ method: 'POST', url: '/shop/add', headers: { ...form, accept: API }, payload: 'product=caviar' }), 400)
  isJsonError(t, await app.inject({ method: 'POST', url: '/api/login', headers: { accept: API }, payload: { username: '<b>' } }), 400)
})

t.test('a malformed request body is a 400 page for a browser, not a 500', async (t) => {
  const app = await demo(t)
  const res = await app.inject({ method: 'POST', url: '/api/login', headers: { 'content-type': 'application/json', accept: BROWSER }, payload: '{"username":' })
  isHtmlPage(t, res, 400, /Bad Request|JSON/)
  isJsonError(t, await app.inject({ method: 'POST', url: '/api/login', headers: { 'content-type': 'application/json', accept: API }, payload: '{"username":' }), 400)
})

t.test('an unexpected error is a 500 page that shows none of its details', async (t) => {
  const app = await demo(t)
  app.get('/boom', async () => { throw new Error('detail the visitor must not see') })
  app.get('/api/boom', async () => { throw new Error('detail the visitor must not see') })
  const page = await app.inject({ url: '/boom', headers: { accept: BROWSER } })
  isHtmlPage(t, page, 500, /went wrong/i)
  t.notMatch(page.body, 'must not see')
  const api = await app.inject({ url: '/api/boom', headers: { accept: API } })
  isJsonError(t, api, 500)
  t.notMatch(api.body, 'must not see')
})
