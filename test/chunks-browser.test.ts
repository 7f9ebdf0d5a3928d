// cookie.chunks in a real browser (Debian's chromium through playwright-core, launched by
// test/helpers/browser.ts): a 10 KB session survives the round trip over chunk cookies,
// and a shrink leaves no stale chunk in the browser's cookie jar. Under CI a missing browser fails
// the run; elsewhere the suite is skipped with a loud notice, never silently.
import type { AddressInfo } from 'node:net'
import Type from 'typebox'
import type { BrowserContext, Page } from 'playwright-core'
import { cookieSession, hex, messageAuthentication } from '../lib/index.js'
import { buildApp, KEY_HEX } from './helpers/app.js'
import { browserTest } from './helpers/browser.js'

// Incompressible and uri-safe: the cookie is as large as the text.
function text (size: number): string {
  let out = ''
  for (let i = 0; out.length < size; i++) out += (i * 2654435761 % 4294967296).toString(36)
  return out.slice(0, size)
}

browserTest('chunked cookies in a real browser', async (t, launch) => {
  const cart = cookieSession('CART', Type.Object({ notes: Type.String() }), {
    transformers: [messageAuthentication({ key: hex(KEY_HEX) })],
    cookie: { chunks: 4 },
  })
  const app = await buildApp(t, [cart])
  // A form posts nothing: the size travels in the query, the session's text back in the page.
  app.get('/set', async (request) => {
    request.sessions.set(cart, { notes: text(Number((request.query as { size: string }).size)) })
    return 'set'
  })
  app.get('/', async (request, reply) => {
    const notes = request.sessions.get(cart)?.notes
    reply.type('text/html')
    return `<p id="size">${notes?.length ?? 'none'}</p><p id="ok">${notes === text(notes?.length ?? 0)}</p>`
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`

  const browser = await launch(t)
  const context: BrowserContext = await browser.newContext()
  const page: Page = await context.newPage()
  page.setDefaultTimeout(10_000)
  const jar = async (): Promise<string[]> => (await context.cookies()).map((c) => c.name).sort()
  const shown = async (): Promise<[string, string]> => {
    await page.goto(base + '/')
    return [(await page.textContent('#size')) ?? '', (await page.textContent('#ok')) ?? '']
  }

  await page.goto(base + '/set?size=10240')
  t.same(await jar(), ['CART', 'CART.1', 'CART.2'], 'a 10 KB session is kept as three cookies')
  t.ok((await context.cookies()).every((c) => c.name.length + c.value.length <= 4096), 'each within 4096 bytes')
  t.same(await shown(), ['10240', 'true'], 'and comes back whole')

  await page.goto(base + '/set?size=5000')
  t.same(await jar(), ['CART', 'CART.1'], 'a shrink to two cookies leaves no stale chunk')
  t.same(await shown(), ['5000', 'true'])

  await page.goto(base + '/set?size=100')
  t.same(await jar(), ['CART'], 'a shrink to one cookie expires every chunk')
  t.same(await shown(), ['100', 'true'])

  await page.goto(base + '/set?size=12000')
  t.same(await jar(), ['CART', 'CART.1', 'CART.2', 'CART.3'], 'growing again')
  t.same(await shown(), ['12000', 'true'])
})
