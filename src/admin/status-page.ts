// The status page served at `/`: one self-contained HTML document (inline CSS
// and JS, no external assets, no data baked in) that fetches /status every
// second and renders listeners and one row per backend, in the spirit of
// HAProxy's stats page. Connection rate is computed in the browser from the
// delta of `total` between two documents over their `generatedAt` delta.
// If the server requires a token, open the page as `/#token=SECRET`: the
// fragment never leaves the browser, and the script sends it as a bearer
// token. Rows are built with textContent only (backend ids are not trusted
// as HTML). Hooks for tests: tr[data-backend="pool/id"] > td[data-col=...].
// Beside the tables, charts from GET /history: sparklines, state strips and
// the health timeline (status-charts.ts). With observe http-connect, a
// column shows each backend's CONNECT success rate over the pool's
// observe-window ("no data" when no answer came in it).
import { CHARTS_CSS, CHARTS_JS } from './status-charts.ts'

import { formatHostPort } from '../net/ip.ts'

export const STATUS_PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src 'none'"

const CSS = CHARTS_CSS + `
body{font:13px/1.4 system-ui,sans-serif;margin:12px;color:#222;background:#fafafa}
h1{font-size:17px;margin:0 0 4px}h2{font-size:14px;margin:14px 0 4px}
#meta{color:#555}#err{display:none;background:#fdd;border:1px solid #c66;padding:6px;margin:8px 0;white-space:pre-wrap}
table{border-collapse:collapse;min-width:60%}th,td{border:1px solid #ccc;padding:2px 8px;text-align:left}
th{background:#e8e8e8}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.pool td{background:#dde4ee;font-weight:600}
.st{font-weight:700}.ready{background:#c9f0c9}.drain{background:#cfe0ff}.maint{background:#e3d2f5}.down{background:#f6c1c1}
.up{background:#c9f0c9}.stale{opacity:.5}
`

const JS = `
'use strict'
const token = new URLSearchParams(location.hash.slice(1)).get('token')
const prev = new Map()
let busy = false
const $ = (id) => document.getElementById(id)
// The server's own address printer, so the page writes addresses as the logs do.
const formatHostPort = ${formatHostPort.toString()}
function td(text, col, cls) {
  const c = document.createElement('td'); c.textContent = text; c.dataset.col = col
  if (cls) c.className = cls
  return c
}
function age(at, now) {
  if (at === null) return '-'
  const s = Math.max(0, Math.round((now - at) / 1000))
  return s < 120 ? s + 's' : Math.round(s / 60) + 'm'
}
// What a backend's agent says (agent check), as \`l4lb status\` writes it.
function agentWords(a) {
  const w = (a.down ? ['down'] : []).concat(a.admin === 'ready' ? [] : [a.admin], a.percent === null ? [] : [a.percent + '%'])
  return (a.line === null ? 'no line yet' : (w.join(' ') || 'up')) + (a.ignored === null ? '' : ' (last reply ignored)') + (a.source === 'leader' ? ' (via leader ' + a.leader + ')' : '')
}
// observe http-connect: the success rate over the window, its counts, or no data; '-' when the pool does not observe.
function successText(o) {
  if (o === null) return '-'
  const span = o.windowMs % 1000 === 0 ? o.windowMs / 1000 + 's' : o.windowMs + 'ms'
  if (o.successRatio === null) return 'no data (' + span + ')'
  return (o.successRatio * 100).toFixed(1) + '% (' + o.ok + '/' + (o.ok + o.failed) + ' in ' + span + ')'
}
function successClass(o) {
  if (o === null || o.successRatio === null) return 'n'
  return 'n ' + (o.successRatio >= 0.95 ? 'up' : o.successRatio >= 0.5 ? 'drain' : 'down')
}
function showError(text) { const e = $('err'); e.textContent = text; e.style.display = text ? 'block' : 'none' }
function render(doc) {
  const now = doc.generatedAt
  const cfgErr = doc.config.lastError
  showError(cfgErr ? 'Last reload rejected (' + new Date(cfgErr.at).toISOString() + '):\\n' + cfgErr.errors.join('\\n') : '')
  $('meta').textContent = 'l4lb ' + doc.version + ' · primary pid ' + doc.pid + ' · health snapshot v' + doc.healthVersion +
    ' · workers ' + doc.workers.filter((w) => w.up).length + '/' + doc.workers.length +
    ' · config loaded ' + new Date(doc.config.loadedAt).toISOString() + ' · updated ' + new Date(now).toISOString()
  const lb = document.createElement('tbody')
  for (const l of doc.listeners) {
    const r = document.createElement('tr'); r.dataset.listener = l.name
    r.append(td(l.name, 'name'), td(l.bind, 'bind'), td(l.pool, 'pool'),
      td(l.up ? 'UP' : 'DOWN', 'up', 'st ' + (l.up ? 'up' : 'down')), td(String(l.active), 'active', 'n'), td(String(l.acceptedTotal), 'accepted', 'n'))
    lb.append(r)
  }
  $('listeners').tBodies[0].replaceWith(lb)
  const bb = document.createElement('tbody')
  const seen = new Map()
  for (const p of doc.pools) {
    const h = document.createElement('tr'); h.className = 'pool'
    const c = td(p.name + ' (' + p.policy + ', ' + p.backends.length + ' backends)', 'pool'); c.colSpan = 13; h.append(c); bb.append(h)
    for (const b of p.backends) {
      const key = p.name + '/' + b.id
      const was = prev.get(key)
      let rate = '-'
      if (was && now > was.at) rate = (Math.max(0, b.total - was.total) * 1000 / (now - was.at)).toFixed(1)
      seen.set(key, { total: b.total, at: now })
      const chk = b.check.result
      const r = document.createElement('tr'); r.dataset.backend = key
      r.append(td(b.id, 'id'), td(formatHostPort(b.host, b.port) + (b.backup ? ' (backup)' : ''), 'addr'),
        td(b.state.toUpperCase() + (b.agent ? ' · agent ' + agentWords(b.agent) : ''), 'state', 'st ' + b.state),
        td(b.effectiveWeight === b.weight ? String(b.weight) : b.effectiveWeight + '/' + b.weight, 'weight', 'n'),
        td(String(b.active), 'active', 'n'), td(String(b.total), 'total', 'n'), td(rate, 'rate', 'n'),
        td(successText(b.observed), 'success', successClass(b.observed)),
        td(chk === null ? '-' : (chk.ok ? 'OK ' : 'FAIL ') + chk.detail + ' (' + Math.round(chk.durationMs) + 'ms)', 'check', chk === null ? '' : (chk.ok ? 'up' : 'down')),
        td(age(b.check.at, now), 'age', 'n'), td('', 'spark-state'), td('', 'spark-rate'), td('', 'spark-active'))
      bb.append(r)
    }
  }
  prev.clear(); for (const [k, v] of seen) prev.set(k, v)
  $('backends').tBodies[0].replaceWith(bb)
  drawSparks(now)
  document.body.classList.remove('stale')
}
async function tick() {
  if (busy) return
  busy = true
  try {
    const headers = token ? { authorization: 'Bearer ' + token } : {}
    const res = await fetch('status', { headers, cache: 'no-store' })
    if (res.status === 401) { showError('Unauthorized: open this page as ' + location.pathname + '#token=YOUR_TOKEN'); document.body.classList.add('stale'); return }
    if (!res.ok) throw new Error('GET /status: HTTP ' + res.status)
    await tickHistory(headers)
    render(await res.json())
  } catch (e) {
    showError('Cannot refresh: ' + e.message); document.body.classList.add('stale')
  } finally { busy = false }
}
` + CHARTS_JS + `
tick(); setInterval(tick, 1000)
`

/** The whole page; identical for every request (no state, no token inside). */
export function statusPageHtml(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>l4lb status</title><style>${CSS}</style></head>
<body class="stale">
<h1>l4lb status</h1><div id="meta">loading…</div><div id="err"></div>
<h2>Listeners</h2>
<table id="listeners"><thead><tr><th>Name</th><th>Bind</th><th>Pool</th><th>State</th><th>Active</th><th>Accepted</th></tr></thead><tbody></tbody></table>
<h2>Backends</h2>
<table id="backends"><thead><tr><th>Backend</th><th>Address</th><th>State</th><th>Weight</th><th>Active</th><th>Total</th><th>Rate/s</th><th>CONNECT success</th><th>Last check</th><th>Check age</th><th>State (5 min)</th><th>Conn/s (5 min)</th><th>Active (5 min)</th></tr></thead><tbody></tbody></table>
<h2>Health timeline</h2><div id="tl-meta"></div>
<table id="timeline"><thead><tr><th>Time</th><th>Backend</th><th>What</th><th>Change</th><th>Reason</th><th>Check then</th></tr></thead><tbody></tbody></table>
<script>${JS}</script>
</body></html>
`
}
