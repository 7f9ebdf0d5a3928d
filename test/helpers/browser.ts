// The browser suites' one way to get a Chromium: Debian's, driven by playwright-core. Without it
// a suite fails under CI (CI must run the browser suites) and is skipped loudly elsewhere.
import { existsSync } from 'node:fs'
import { test, type Test } from 'tap'
import type { Browser } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'
const INSTALL = 'apt-get install chromium'

/** Launches a headless Chromium closed at the end of `t`. */
async function launch (t: Test): Promise<Browser> {
  const { chromium } = await import('playwright-core')
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  t.teardown(() => browser.close())
  return browser
}

/** A tap test that drives a real browser: `launch(t)` gives one. */
export function browserTest (name: string, body: (t: Test, launch: (t: Test) => Promise<Browser>) => Promise<void>): void {
  if (existsSync(CHROMIUM)) {
    test(name, async (t) => body(t, launch))
  } else if (process.env['CI']) {
    test(name, async (t) => { t.fail(`${CHROMIUM} is missing: ${INSTALL} (CI must run the browser suites)`) })
  } else {
    const notice = `Browser suite skipped: ${INSTALL}`
    console.error(`\n${'!'.repeat(notice.length + 8)}\n!!! ${notice} !!!\n${'!'.repeat(notice.length + 8)}\n`)
    test(name, { skip: notice }, async () => {})
  }
}
