// Plain HTML for the demo: one layout, escaping for everything that comes from a request.

export type Theme = 'light' | 'dark'

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Text made safe for HTML content and attribute values. */
export function escape (value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] as string)
}

/** A trusted fragment of HTML (already escaped). */
export class Html {
  constructor (readonly text: string) {}
  toString (): string { return this.text }
}

/** Tagged template: interpolated values are escaped unless they are `Html` (or arrays of it). */
export function html (strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] as string
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] as string)
  })
  return new Html(out)
}

function render (value: unknown): string {
  if (value instanceof Html) return value.text
  if (Array.isArray(value)) return value.map(render).join('')
  if (value === null || value === undefined || value === false) return ''
  return escape(value)
}

export interface PageOptions {
  title: string
  theme: Theme
  /** Where the visitor is, to mark the current link. */
  path: string
  /** Environment variables replaced by development keys: shown as a banner. */
  devKeys: readonly string[]
  /** Who is logged in, if anyone. */
  user: string | null
}

const LINKS = [
  ['/', 'Home'],
  ['/shop', 'Shop'],
  ['/preferences', 'Preferences'],
  ['/sessions', 'Sessions'],
  ['/devices', 'Your devices'],
  ['/api', 'JSON API'],
] as const

const STYLE = `
:root { color-scheme: light; --bg: #f7f7f5; --fg: #1d1d1f; --muted: #5f6368; --card: #ffffff; --line: #dadce0; --accent: #0b57d0; --warn-bg: #fff4ce; --warn-fg: #5c4400; }
body.dark { color-scheme: dark; --bg: #15171a; --fg: #e8eaed; --muted: #9aa0a6; --card: #202124; --line: #3c4043; --accent: #8ab4f8; --warn-bg: #3d3200; --warn-fg: #fde293; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--fg); }
header { background: var(--card); border-bottom: 1px solid var(--line); }
header .bar { max-width: 860px; margin: 0 auto; padding: 12px 20px; display: flex; gap: 18px; align-items: center; flex-wrap: wrap; }
header .brand { font-weight: 700; margin-right: auto; }
header a { color: var(--fg); text-decoration: none; padding: 4px 2px; border-bottom: 2px solid transparent; }
header a.current { border-bottom-color: var(--accent); }
header .who { color: var(--muted); font-size: 14px; }
main { max-width: 860px; margin: 0 auto; padding: 20px; }
h1 { font-size: 28px; margin: 8px 0 16px; }
h2 { font-size: 20px; margin: 24px 0 8px; }
a { color: var(--accent); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px; margin: 16px 0; }
.warn { background: var(--warn-bg); color: var(--warn-fg); border-radius: 10px; padding: 10px 16px; margin: 16px 0; font-size: 14px; }
.muted { color: var(--muted); }
.big { font-size: 40px; font-weight: 700; }
form.inline { display: inline; }
input[type=text], select { font: inherit; padding: 6px 10px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); }
button { font: inherit; padding: 6px 14px; border: 1px solid var(--accent); border-radius: 6px; background: var(--accent); color: var(--card); cursor: pointer; }
button.secondary { background: transparent; color: var(--accent); }
table { width: 100%; border-collapse: collapse; font-size: 14px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
code, pre { font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
td.value code { word-break: break-all; }
td:first-child { white-space: nowrap; }
pre { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 10px; overflow-x: auto; }
.state { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; border: 1px solid var(--line); }
.state.present { border-color: #188038; color: #188038; }
.state.absent { color: var(--muted); }
ul.items { padding-left: 20px; }
`

export function page (options: PageOptions, body: Html): string {
  const nav = LINKS.map(([href, label]) => {
    const current = href === '/' ? options.path === '/' : options.path.startsWith(href)
    return html`<a href="${href}" class="${current ? 'current' : ''}">${label}</a>`
  })
  const banner = options.devKeys.length === 0
    ? ''
    : html`<div class="warn" id="dev-keys"><strong>Development keys.</strong> ${options.devKeys.join(' and ')} ${options.devKeys.length === 1 ? 'is' : 'are'} not set, so this demo made random keys when it started: the cart and the preferences are forgotten at every restart. Set them (hex, 32 bytes) for real use.</div>`
  return '<!doctype html>\n' + html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · fastify-sessions demo</title>
<style>${new Html(STYLE)}</style>
</head>
<body class="${options.theme}">
<header><div class="bar"><span class="brand">fastify-sessions demo</span>${nav}<span class="who" id="who">${options.user === null ? 'not logged in' : html`logged in as <strong>${options.user}</strong>`}</span></div></header>
<main>
${banner}
${body}
</main>
</body>
</html>
`.text
}
