// The demo in a real browser: Debian's chromium driven by playwright-core. Under CI a missing
// browser fails the run; elsewhere the suite is skipped with a loud notice, never silently.
import { existsSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { BrowserContext, Page } from 'playwright-core'
import { buildDemo } from '../../example/app.js'
import type { DemoKeys } from '../../example/keys.js'
import { browserTest } from '../helpers/browser.js'

const OUTPUT = fileURLToPath(new URL('../../test-output/', import.meta.url))
const KEYS: DemoKeys = { mac: Buffer.alloc(32, 1), enc: Buffer.alloc(32, 2), generated: [] }

browserTest('the demo in a real browser', async (t, launch) => {
  const started = Date.now()
  const dir = t.testdir()

  // Each server on a port of its own: cookies are not bound to a port, so the browser sends
  // them to the restarted server as well, and no other process can take a port in between.
  const origin = async (server: FastifyInstance): Promise<string> => {
    await server.listen({ port: 0, host: '127.0.0.1' })
    return `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`
  }
  let app: FastifyInstance = await buildDemo({ sessionsDir: dir, keys: KEYS })
  let base = await origin(app)
  t.teardown(() => app.close())

  const browser = await launch(t)
  const context: BrowserContext = await browser.newContext({ viewport: { width: 1000, height: 800 } })
  const page: Page = await context.newPage()
  page.setDefaultTimeout(10_000)
  mkdirSync(OUTPUT, { recursive: true })

  const text = async (selector: string): Promise<string> => (await page.textContent(selector))?.trim() ?? ''
  const cookie = async (name: string) => (await context.cookies()).find((c) => c.name === name)
  const state = async (name: string): Promise<string> => text(`tr[data-session="${name}"] .state`)

  // Log in: the server regenerates the id and redirects home, where the counter starts.
  await page.goto(base + '/')
  t.equal(await page.locator('#username').count(), 1, 'an anonymous visitor sees the login form')
  await page.fill('#username', 'Ada')
  await Promise.all([page.waitForURL(base + '/'), page.click('#login')])
  t.match(await page.textContent('h1'), 'Hello, Ada')
  t.equal(await text('#count'), '1')
  t.equal(await text('#who strong'), 'Ada')
  const loginCookie = await cookie('LOGIN_SESSION')
  t.equal(loginCookie?.httpOnly, true, 'the login cookie is HttpOnly')
  t.equal(loginCookie?.sameSite, 'Lax')
  t.match(loginCookie?.value, /^[A-Za-z0-9_-]{43}$/, 'the browser holds only an id')

  // The counter grows across reloads.
  await page.reload()
  t.equal(await text('#count'), '2')
  await page.reload()
  t.equal(await text('#count'), '3')

  // The cart: added under /shop, visible only there.
  await page.goto(base + '/shop')
  t.equal(await page.locator('#cart-empty').count(), 1, 'the cart starts empty')
  await page.selectOption('#product', 'tea')
  await Promise.all([page.waitForURL(base + '/shop'), page.click('#add')])
  await page.selectOption('#product', 'mug')
  await Promise.all([page.waitForURL(base + '/shop'), page.click('#add')])
  t.same(await page.locator('#cart li').allTextContents(), ['Green tea', 'Enamel mug'])
  t.equal((await cookie('SESSION_CART'))?.path, '/shop', 'the cart cookie is scoped to /shop')
  await page.goto(base + '/shop/sessions')
  t.equal(await state('SESSION_CART'), 'present', 'the server sees the cart under /shop')
  t.equal(await page.locator('tr[data-cookie="SESSION_CART"]').count(), 1)
  await page.goto(base + '/sessions')
  t.equal(await state('SESSION_CART'), 'absent', 'the browser does not send the cart outside /shop')
  t.equal(await page.locator('tr[data-cookie="SESSION_CART"]').count(), 0)
  t.equal(await state('LOGIN_SESSION'), 'present')

  // The theme, in an encrypted cookie, applies to every page.
  await page.goto(base + '/preferences')
  t.equal(await page.getAttribute('body', 'class'), 'light')
  await page.selectOption('#theme', 'dark')
  await Promise.all([page.waitForURL(base + '/preferences'), page.click('#save')])
  t.equal(await text('#current-theme'), 'dark')
  await page.goto(base + '/')
  t.equal(await page.getAttribute('body', 'class'), 'dark', 'the theme applies elsewhere')
  t.equal(await text('#count'), '4')
  t.notMatch((await cookie('SETTINGS_SESSION'))?.value, /dark/, 'the theme cookie is not readable')

  // A restart on the same sessions directory keeps the logged-in session.
  await app.close()
  app = await buildDemo({ sessionsDir: dir, keys: KEYS })
  base = await origin(app)
  await page.goto(base + '/')
  t.match(await page.textContent('h1'), 'Hello, Ada', 'still logged in after a restart')
  t.equal(await text('#count'), '5', 'and the counter carried on')

  await page.goto(base + '/sessions')
  await page.screenshot({ path: OUTPUT + 'demo-sessions.png', fullPage: true })
  await page.goto(base + '/shop/sessions')
  await page.screenshot({ path: OUTPUT + 'demo-shop-sessions.png', fullPage: true })
  await page.goto(base + '/shop')
  await page.screenshot({ path: OUTPUT + 'demo-shop.png', fullPage: true })

  // Log out, then replay the cookie held before logout: it logs nobody in.
  await page.goto(base + '/')
  const saved = await cookie('LOGIN_SESSION')
  t.ok(saved, 'a login cookie to replay')
  await Promise.all([page.waitForURL(base + '/'), page.click('#logout')])
  t.equal(await page.locator('#username').count(), 1, 'logged out')
  t.equal(await cookie('LOGIN_SESSION'), undefined, 'the browser dropped the cookie')
  await context.addCookies([saved as NonNullable<typeof saved>])
  t.equal((await cookie('LOGIN_SESSION'))?.value, saved?.value, 'the old cookie is back in the browser')
  await page.goto(base + '/')
  t.equal(await page.locator('#username').count(), 1, 'the replayed cookie does not log in')
  t.equal(await page.locator('#count').count(), 0)
  await page.goto(base + '/sessions')
  t.equal(await state('LOGIN_SESSION'), 'absent')
  t.match(await text('#ignored'), 'LOGIN_SESSION (not-found)', 'the server says why')
  await page.goto(base + '/')
  await page.screenshot({ path: OUTPUT + 'demo-home.png', fullPage: true })

  t.ok(existsSync(OUTPUT + 'demo-sessions.png'), 'a screenshot of the sessions page is in test-output/')
  t.comment(`browser suite took ${Date.now() - started} ms; screenshots in ${OUTPUT}`)
})
