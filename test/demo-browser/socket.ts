// The demo's remember-me checkbox and its WebSocket page in a real browser (Debian's chromium
// driven by playwright-core, launched by test/helpers/browser.ts).
import type { AddressInfo } from 'node:net'
import type { BrowserContext, Page } from 'playwright-core'
import { buildDemo, LoginSession, REMEMBER_ME } from '../../example/app.js'
import { cookieSession, directoryStorage } from '../../lib/index.js'
import { readSession, sessionCookie } from '../../testing/index.js'
import type { DemoKeys } from '../../example/keys.js'
import { browserTest } from '../helpers/browser.js'

const KEYS: DemoKeys = { mac: Buffer.alloc(32, 1), enc: Buffer.alloc(32, 2), generated: [] }
const DAY = 86_400

browserTest('remember me and the WebSocket in a real browser', async (t, launch) => {
  const dir = t.testdir()
  const app = await buildDemo({ sessionsDir: dir, keys: KEYS })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  t.teardown(() => app.close())

  const browser = await launch(t)
  const context: BrowserContext = await browser.newContext({ viewport: { width: 1000, height: 800 } })
  const page: Page = await context.newPage()
  page.setDefaultTimeout(10_000)
  const text = async (selector: string): Promise<string> => (await page.textContent(selector))?.trim() ?? ''
  const lifetime = async (): Promise<number> => {
    const cookie = (await context.cookies()).find((c) => c.name === 'LOGIN_SESSION')
    return (cookie?.expires ?? 0) - Date.now() / 1000
  }
  const logIn = async (remember: boolean): Promise<void> => {
    await page.goto(base + '/')
    await page.fill('#username', 'Ada')
    if (remember) await page.check('#remember')
    await Promise.all([page.waitForURL(base + '/'), page.click('#login')])
    t.match(await page.textContent('h1'), 'Hello, Ada')
  }

  // The socket page refuses a visitor without a login, and so does the socket itself.
  await page.goto(base + '/socket')
  t.equal(await page.locator('#socket-login').count(), 1, 'the page asks for a login')

  // Without "remember me", the default 7 days; with it, 30.
  await logIn(false)
  t.ok(Math.abs(await lifetime() - 7 * DAY) < 120, 'a plain login lasts 7 days')
  await Promise.all([page.waitForURL(base + '/'), page.click('#logout')])
  await logIn(true)
  t.ok(Math.abs(await lifetime() - 30 * DAY) < 120, 'remember me lasts 30 days')

  // The WebSocket counts messages into the session; a reload reads what it saved.
  await page.click('#socket-link')
  await page.waitForURL(base + '/socket')
  await page.waitForSelector('#send:not([disabled])')
  t.equal(await text('#state'), 'connected')
  for (const expected of ['1', '2', '3']) {
    await page.click('#send')
    await page.waitForFunction(`document.getElementById('messages')?.textContent === '${expected}'`)
  }
  t.equal(await text('#messages'), '3', 'three messages counted')
  await page.reload()
  t.equal(await text('#saved'), '3', 'the count was saved into the session by the socket')
  await page.goto(base + '/')
  t.match(await page.textContent('.card'), 'Messages sent on the WebSocket page: 3')
  t.ok(Math.abs(await lifetime() - 30 * DAY) < 120, 'the remembered lifetime is kept')

  // The test kit beside Playwright: the same provider over the same directory reads the
  // browser's storageState, and a minted cookie logs another browser in.
  const login = cookieSession('LOGIN_SESSION', LoginSession, { storage: directoryStorage(dir), maxAgeLimit: REMEMBER_ME })
  t.same(await readSession(login, (await context.storageState()).cookies), { username: 'Ada', count: 2, messages: 3 }, 'readSession reads storageState cookies')
  const other = await browser.newContext()
  const [name, value] = (await sessionCookie(login, { username: 'Grace', count: 0 })).split(/=(.*)/s) as [string, string]
  await other.addCookies([{ name, value, url: base }])
  const second = await other.newPage()
  await second.goto(base + '/')
  t.match(await second.textContent('h1'), 'Hello, Grace', 'a cookie from sessionCookie logs a browser in')
  await other.close()
})
