// "Your devices" in a real browser: two browser contexts are two devices of one user. Debian's
// chromium driven by playwright-core; under CI a missing browser fails the run, elsewhere the suite
// is skipped with a loud notice.
import type { AddressInfo } from 'node:net'
import type { BrowserContext, Page } from 'playwright-core'
import { buildDemo } from '../../example/app.js'
import type { DemoKeys } from '../../example/keys.js'
import { browserTest } from '../helpers/browser.js'

const KEYS: DemoKeys = { mac: Buffer.alloc(32, 1), enc: Buffer.alloc(32, 2), generated: [] }

browserTest('"Your devices" with two browsers: each session listed, "log out this one", "log out everywhere else", and an open WebSocket page shows its session ended', async (t, launch) => {
  const app = await buildDemo({ sessionsDir: t.testdir(), keys: KEYS })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  t.teardown(() => app.close())
  const browser = await launch(t)

  async function device (userAgent: string): Promise<{ context: BrowserContext, page: Page }> {
    const context = await browser.newContext({ userAgent })
    const page = await context.newPage()
    page.setDefaultTimeout(10_000)
    return { context, page }
  }
  async function logIn (page: Page): Promise<void> {
    await page.goto(base + '/')
    await page.fill('#username', 'Grace')
    await Promise.all([page.waitForURL(base + '/'), page.click('#login')])
  }
  // The WebSocket page, connected; `ended` resolves when the page says its session ended (the
  // server closes the socket when the session is revoked or logged out, through `watch`).
  async function openSocket (page: Page): Promise<{ ended: Promise<boolean> }> {
    await page.goto(base + '/socket')
    await page.waitForSelector('#send:not([disabled])')
    const ended = page.locator('#state', { hasText: 'session ended' }).waitFor().then(async () => await page.isVisible('#ended'))
    return { ended }
  }
  const loggedIn = async (page: Page): Promise<boolean> => {
    await page.goto(base + '/')
    return await page.locator('#logout').count() === 1
  }

  const laptop = await device('Laptop browser')
  const phone = await device('Phone browser')
  await logIn(laptop.page)
  await logIn(phone.page)

  await laptop.page.goto(base + '/devices')
  t.equal(await laptop.page.locator('#devices tbody tr').count(), 2, 'the laptop lists both devices')
  t.equal(await laptop.page.textContent('tr[data-device="current"]').then((s) => s?.includes('Laptop browser')), true, 'this device, with its user agent')
  t.equal(await laptop.page.textContent('tr[data-device="other"]').then((s) => s?.includes('Phone browser')), true, 'the other device')
  t.match(await laptop.page.textContent('tr[data-device="other"] .last-seen'), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/, 'with its last activity')
  const handle = await laptop.page.getAttribute('tr[data-device="other"] input[name="handle"]', 'value')
  const phoneId = (await phone.context.cookies()).find((c) => c.name === 'LOGIN_SESSION')?.value
  t.not(handle, phoneId, 'the page holds a handle, not the phone\'s session id')

  // "Log out this one": the phone's session ends, and its open WebSocket page says so.
  const phoneSocket = await openSocket(phone.page)
  await Promise.all([laptop.page.waitForURL(base + '/devices'), laptop.page.click('tr[data-device="other"] button.revoke')])
  t.equal(await laptop.page.locator('#devices tbody tr').count(), 1, 'one device left')
  t.equal(await laptop.page.locator('#only-device').count(), 1)
  t.equal(await phoneSocket.ended, true, 'the phone\'s WebSocket page shows that its session ended')
  t.equal(await phone.page.locator('#send[disabled]').count(), 1, 'and can no longer send')
  t.equal(await loggedIn(phone.page), false, 'the phone is logged out')
  t.equal(await loggedIn(laptop.page), true, 'the laptop is not')

  // "Log out everywhere else", from the phone this time.
  await logIn(phone.page)
  await phone.page.goto(base + '/devices')
  t.equal(await phone.page.locator('#devices tbody tr').count(), 2)
  const laptopSocket = await openSocket(laptop.page)
  await Promise.all([phone.page.waitForURL(base + '/devices'), phone.page.click('#logout-others')])
  t.equal(await phone.page.locator('#devices tbody tr').count(), 1, 'only this device is left')
  t.equal(await laptopSocket.ended, true, 'the laptop\'s WebSocket page shows that its session ended')
  t.equal(await loggedIn(laptop.page), false, 'the laptop is logged out')
  t.equal(await loggedIn(phone.page), true, 'the phone stays logged in')

  // A plain logout from another tab of the same browser ends the socket too.
  const tab = await phone.context.newPage()
  tab.setDefaultTimeout(10_000)
  const tabSocket = await openSocket(tab)
  await Promise.all([phone.page.waitForURL(base + '/'), phone.page.click('#logout')])
  t.equal(await tabSocket.ended, true, 'the other tab\'s WebSocket page shows that its session ended')
})
