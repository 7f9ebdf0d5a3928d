import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import Type from 'typebox'
import sessions, {
  cookieSession, headerSession, messageAuthentication, encrypt,
  directoryStorage, memoryStorage, redisStorage,
  type InvalidReason, type SessionStorage,
} from '../lib/index.js'
import { devicesRoutes } from './devices.js'
import { DEMO_BAD_REQUEST, DEMO_NO_SESSION, errorPages } from './errors.js'
import { html, page, type Html, type Theme } from './html.js'
import { loadKeys, type DemoKeys } from './keys.js'
import { socketDemo } from './socket.js'

// The demo application: every use case of Ktor's Sessions pages, on fastify-sessions.
//   LOGIN_SESSION     server-side (directory, or Redis with REDIS_URL), cookie, regenerate on login,
//                     a visit counter changed with copy-and-set
//   SESSION_CART      client-side, signed (messageAuthentication), cookie path /shop
//   SETTINGS_SESSION  client-side, encrypted (encrypt), the theme
//   X-Api-Session     server-side, header, for the JSON API under /api

export const LoginSession = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 40 }),
  count: Type.Integer({ minimum: 0 }),
  /** Messages sent on the WebSocket page (example/socket.ts). */
  messages: Type.Optional(Type.Integer({ minimum: 0 })),
})

/** "Remember me": a login that lasts 30 days instead of the default 7. */
export const REMEMBER_ME = 30 * 24 * 60 * 60

export const Cart = Type.Object({
  items: Type.Array(Type.String({ maxLength: 20 }), { maxItems: 50 }),
})

export const Settings = Type.Object({
  theme: Type.Union([Type.Literal('light'), Type.Literal('dark')]),
})

export const ApiSession = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 40 }),
  calls: Type.Integer({ minimum: 0 }),
})

export const PRODUCTS: Readonly<Record<string, string>> = {
  tea: 'Green tea',
  coffee: 'Coffee beans',
  biscuits: 'Ginger biscuits',
  mug: 'Enamel mug',
}

export interface DemoOptions {
  /** Where the directory storage keeps LOGIN_SESSION; default `.sessions` (ignored with `redisUrl`). */
  sessionsDir?: string
  /** Keep server-side sessions in Redis instead (LOGIN_SESSION and the API's). */
  redisUrl?: string | undefined
  /** The cart and preferences keys; default: from SESSION_MAC_KEY / SESSION_ENC_KEY, or made now. */
  keys?: DemoKeys
  /** Fastify's logger option; default false. */
  logger?: FastifyServerOptions['logger']
}

const USERNAME = /^[\p{L}\p{N} ._-]{1,40}$/u
const NAME_RULE = 'A name is 1 to 40 letters, digits, spaces, dots, dashes or underscores.'

/** Builds the demo app, ready to `listen` or `inject`. Closing it closes its storages. */
export async function buildDemo (options: DemoOptions = {}): Promise<FastifyInstance> {
  const keys = options.keys ?? loadKeys()
  const devKeys = keys.generated

  let loginStorage: SessionStorage
  let apiStorage: SessionStorage
  let storageLabel: string
  if (options.redisUrl !== undefined && options.redisUrl !== '') {
    // One Redis storage for both server-side providers: their keys never collide (each is a hash
    // of the provider name and the id).
    loginStorage = apiStorage = redisStorage({ url: options.redisUrl })
    storageLabel = 'redisStorage (REDIS_URL)'
  } else {
    loginStorage = directoryStorage(options.sessionsDir ?? '.sessions', { cached: true })
    apiStorage = memoryStorage()
    storageLabel = `directoryStorage('${options.sessionsDir ?? '.sessions'}', { cached: true })`
  }

  const login = cookieSession('LOGIN_SESSION', LoginSession, {
    storage: loginStorage,
    maxAgeLimit: REMEMBER_ME,
    cookie: { path: '/' },
    // "Your devices" (devices.ts): sessions indexed by user, with their browser's user agent.
    subject: (s) => s.username,
    metadata: { userAgent: true },
  })
  const cart = cookieSession('SESSION_CART', Cart, {
    cookie: { path: '/shop' },
    transformers: [messageAuthentication({ key: keys.mac })],
  })
  const settings = cookieSession('SETTINGS_SESSION', Settings, {
    maxAge: 365 * 24 * 60 * 60,
    transformers: [encrypt({ key: keys.enc })],
  })
  const api = headerSession('X-Api-Session', ApiSession, {
    storage: apiStorage,
    idleTimeout: 30 * 60,
  })

  const described = [
    { provider: login, where: `server-side: ${storageLabel}`, transport: 'cookie, Path=/' },
    { provider: cart, where: 'client-side, signed (messageAuthentication, HMAC-SHA256)', transport: 'cookie, Path=/shop' },
    { provider: settings, where: 'client-side, encrypted (encrypt, AES-256-GCM)', transport: 'cookie, Path=/' },
    { provider: api, where: `server-side: ${options.redisUrl ? 'redisStorage' : 'memoryStorage()'}`, transport: 'header X-Api-Session' },
  ]

  // What each request's sessions reported as invalid, for the sessions page.
  const ignored = new WeakMap<FastifyRequest, Array<{ session: string, reason: InvalidReason }>>()

  const app = Fastify({ logger: options.logger ?? false })
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)))
  })

  await app.register(sessions, {
    providers: [login, cart, settings, api],
    onInvalid (reason, request, provider) {
      let list = ignored.get(request)
      if (list === undefined) ignored.set(request, list = [])
      list.push({ session: provider.name, reason })
    },
  })

  function theme (request: FastifyRequest): Theme {
    return request.sessions.get(settings)?.theme ?? 'light'
  }

  function send (request: FastifyRequest, reply: FastifyReply, title: string, body: Html, status = 200): FastifyReply {
    // An error page can come before the sessions loaded (a storage outage): then it shows none.
    const loaded = <T>(read: () => T, otherwise: T): T => {
      try {
        return read()
      } catch {
        return otherwise
      }
    }
    const user = loaded(() => request.sessions.get(login)?.username ?? null, null)
    return reply.code(status).type('text/html; charset=utf-8')
      .send(page({ title, theme: loaded(() => theme(request), 'light'), path: request.url.split('?')[0] as string, devKeys, user }, body))
  }

  errorPages(app, send)

  function field (request: FastifyRequest, name: string): string {
    const body = request.body as Record<string, unknown> | undefined
    const value = body?.[name]
    return typeof value === 'string' ? value.trim() : ''
  }

  // ---- Home: login, the visit counter, logout ----

  app.get('/', async (request, reply) => {
    const s = request.sessions.get(login)
    if (s === null) {
      return send(request, reply, 'Home', html`
<h1>Welcome</h1>
<div class="card">
  <p>Log in with any name. The session lives on the server (<code>${storageLabel}</code>); the <code>LOGIN_SESSION</code> cookie only holds a random id.</p>
  <form method="post" action="/login">
    <label>Name <input type="text" name="username" id="username" required maxlength="40" autocomplete="username"></label>
    <label><input type="checkbox" name="remember" id="remember"> Remember me for 30 days</label>
    <button type="submit" id="login">Log in</button>
  </form>
</div>`)
    }
    // Sessions are values: copy-and-set, as Ktor's `session.copy(count = session.count + 1)`.
    const next = { ...s, count: s.count + 1 }
    request.sessions.set(login, next)
    return send(request, reply, 'Home', html`
<h1>Hello, ${next.username}</h1>
<div class="card">
  <p>Visits to this page in this session:</p>
  <p class="big" id="count">${next.count}</p>
  <p class="muted">Each visit reads the session and sets <code>{ ...s, count: s.count + 1 }</code>. Reload to see it grow.</p>
  <p class="muted">Messages sent on the <a href="/socket" id="socket-link">WebSocket page</a>: ${next.messages ?? 0}.</p>
  <form method="post" action="/logout"><button type="submit" id="logout" class="secondary">Log out</button></form>
</div>`)
  })

  app.post('/login', async (request, reply) => {
    const username = field(request, 'username')
    if (!USERNAME.test(username)) throw new DEMO_BAD_REQUEST(NAME_RULE)
    request.sessions.set(login, { username, count: 0 }, field(request, 'remember') === 'on' ? { maxAge: REMEMBER_ME } : undefined)
    // Against session fixation: whatever id the visitor came with, the logged-in session gets a new one.
    request.sessions.regenerate(login)
    return reply.redirect('/', 303)
  })

  app.post('/logout', async (request, reply) => {
    request.sessions.clear(login)
    return reply.redirect('/', 303)
  })

  devicesRoutes(app, login, send)

  // ---- The shop: a signed client-side cart, sent by the browser only under /shop ----

  app.get('/shop', async (request, reply) => {
    const items = request.sessions.get(cart)?.items ?? []
    const options = Object.entries(PRODUCTS).map(([id, name]) => html`<option value="${id}">${name}</option>`)
    return send(request, reply, 'Shop', html`
<h1>Shop</h1>
<div class="card">
  <h2>Your cart</h2>
  ${items.length === 0
    ? html`<p id="cart-empty" class="muted">The cart is empty.</p>`
    : html`<ul class="items" id="cart">${items.map((id) => html`<li>${PRODUCTS[id] ?? id}</li>`)}</ul>`}
  <form method="post" action="/shop/add">
    <select name="product" id="product">${options}</select>
    <button type="submit" id="add">Add to cart</button>
  </form>
  ${items.length === 0 ? '' : html`<form method="post" action="/shop/empty"><p><button type="submit" id="empty" class="secondary">Empty the cart</button></p></form>`}
</div>
<p class="muted">The cart is the <code>SESSION_CART</code> cookie itself, signed with HMAC-SHA256 (not encrypted: its content is readable, not changeable). Its path is <code>/shop</code>, so the browser sends it only here: compare <a href="/shop/sessions">/shop/sessions</a> with <a href="/sessions">/sessions</a>.</p>`)
  })

  app.post('/shop/add', async (request, reply) => {
    const product = field(request, 'product')
    if (!(product in PRODUCTS)) throw new DEMO_BAD_REQUEST('Unknown product.')
    const current = request.sessions.get(cart) ?? { items: [] }
    if (current.items.length < 50) request.sessions.set(cart, { ...current, items: [...current.items, product] })
    return reply.redirect('/shop', 303)
  })

  app.post('/shop/empty', async (request, reply) => {
    request.sessions.clear(cart)
    return reply.redirect('/shop', 303)
  })

  // ---- Preferences: an encrypted client-side session ----

  app.get('/preferences', async (request, reply) => {
    const current = theme(request)
    const choices = (['light', 'dark'] as const).map((t) => html`<option value="${t}" ${t === current ? html`selected` : ''}>${t}</option>`)
    return send(request, reply, 'Preferences', html`
<h1>Preferences</h1>
<div class="card">
  <form method="post" action="/preferences">
    <label>Theme <select name="theme" id="theme">${choices}</select></label>
    <button type="submit" id="save">Save</button>
  </form>
  <p class="muted">Kept in the <code>SETTINGS_SESSION</code> cookie, encrypted with AES-256-GCM: the browser holds it but can neither read nor change it. Current theme: <strong id="current-theme">${current}</strong>.</p>
</div>`)
  })

  app.post('/preferences', async (request, reply) => {
    const choice = field(request, 'theme')
    if (choice !== 'light' && choice !== 'dark') throw new DEMO_BAD_REQUEST('The theme is light or dark.')
    request.sessions.set(settings, { theme: choice })
    return reply.redirect('/preferences', 303)
  })

  // ---- What the server sees ----

  async function sessionsPage (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const rows = described.map(({ provider, where, transport }) => {
      const value = request.sessions.get(provider)
      return html`<tr data-session="${provider.name}">
  <td><code>${provider.name}</code></td>
  <td>${transport}<br><span class="muted">${where}</span></td>
  <td>${value === null ? html`<span class="state absent">absent</span>` : html`<span class="state present">present</span>`}</td>
  <td>${value === null ? '' : html`<pre>${JSON.stringify(value, null, 2)}</pre>`}</td>
</tr>`
    })
    const cookies = parseCookies(request.headers.cookie)
    // A server-side id is a credential: a page that printed it whole would hand it to any script
    // on this origin, defeating HttpOnly. Its first characters are enough to tell ids apart.
    const shown = (name: string, value: string): string => name === login.name
      ? value.slice(0, 6) + '… (id hidden)'
      : value.length > 160 ? value.slice(0, 160) + '…' : value
    const cookieRows = cookies.map(([name, value]) => html`<tr data-cookie="${name}">
  <td><code>${name}</code></td><td>${Buffer.byteLength(value)}</td>
  <td class="value"><code>${shown(name, value)}</code></td>
</tr>`)
    const reasons = ignored.get(request) ?? []
    const underShop = request.url.startsWith('/shop')
    return send(request, reply, 'Sessions', html`
<h1>Sessions, as the server sees them</h1>
<p class="muted">At <code>${request.url}</code>. ${underShop
  ? 'The browser sends SESSION_CART here, under /shop.'
  : html`The browser does not send <code>SESSION_CART</code> here (its path is /shop): see <a href="/shop/sessions">/shop/sessions</a>.`}</p>
<div class="card">
  <h2>Sessions</h2>
  <table id="sessions"><thead><tr><th>Name</th><th>Transport and storage</th><th>State</th><th>Value</th></tr></thead><tbody>${rows}</tbody></table>
  ${reasons.length === 0
    ? ''
    : html`<p id="ignored">Ignored in this request: ${reasons.map((r, i) => html`${i > 0 ? ', ' : ''}<code>${r.session}</code> (${r.reason})`)}</p>`}
</div>
<div class="card">
  <h2>Cookies received</h2>
  ${cookies.length === 0
    ? html`<p class="muted" id="no-cookies">This request carried no cookies.</p>`
    : html`<table id="cookies"><thead><tr><th>Name</th><th>Bytes</th><th>Value</th></tr></thead><tbody>${cookieRows}</tbody></table>`}
  <p class="muted">A server-side session's cookie is only a random id (256 bits); the storage keys it by a hash of the provider name and that id. No key is ever shown here.</p>
</div>`)
  }

  app.get('/sessions', sessionsPage)
  app.get('/shop/sessions', sessionsPage)

  // ---- A JSON API with a header session, for clients that are not browsers ----

  app.get('/api', async (request, reply) => {
    return send(request, reply, 'JSON API', html`
<h1>JSON API</h1>
<div class="card">
  <p>The API keeps its session in the <code>X-Api-Session</code> header: the login response carries the header, and the client sends it back. These routes load only that session (<code>config: { sessions: ['X-Api-Session'] }</code>).</p>
  <pre>curl -si -X POST -H 'content-type: application/json' -d '{"username":"ada"}' ${request.protocol}://${request.host}/api/login
curl -s -H 'X-Api-Session: &lt;the id from the login response&gt;' ${request.protocol}://${request.host}/api/me
curl -si -X POST -H 'X-Api-Session: &lt;id&gt;' ${request.protocol}://${request.host}/api/logout</pre>
</div>`)
  })

  const apiOnly = { sessions: ['X-Api-Session'] }

  app.post('/api/login', { config: apiOnly }, async (request) => {
    const username = field(request, 'username')
    if (!USERNAME.test(username)) throw new DEMO_BAD_REQUEST(NAME_RULE)
    request.sessions.set(api, { username, calls: 0 })
    request.sessions.regenerate(api)
    return { username }
  })

  app.get('/api/me', { config: apiOnly }, async (request) => {
    const s = request.sessions.get(api)
    if (s === null) throw new DEMO_NO_SESSION('No session: POST /api/login first, then send the X-Api-Session header.')
    const next = { ...s, calls: s.calls + 1 }
    request.sessions.set(api, next)
    return next
  })

  app.post('/api/logout', { config: apiOnly }, async (request) => {
    request.sessions.clear(api)
    return { ok: true }
  })

  await socketDemo(app, login, send)

  return app
}

/** `name=value` pairs of a Cookie header, in the order sent (values left as sent). */
export function parseCookies (header: string | undefined): Array<[string, string]> {
  if (header === undefined) return []
  const out: Array<[string, string]> = []
  for (const part of header.split(';')) {
    const at = part.indexOf('=')
    if (at <= 0) continue
    out.push([part.slice(0, at).trim(), part.slice(at + 1).trim()])
  }
  return out
}
