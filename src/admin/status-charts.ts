// The status page's charts, drawn in the browser from GET /history (inline
// SVG built with createElementNS: no library, no network fetch beyond the
// admin API, allowed by the page's CSP):
// - per backend, a sparkline of new connections/s and one of active
//   connections over the kept samples (5 minutes by default), the newest
//   sample at the right edge, scaled 0..max of the window, gaps where the
//   backend was not sampled; and a strip of its effective state over the same
//   window, rebuilt from the timeline's state events;
// - the health timeline: newest first, TIMELINE_ROWS rows, each with its
//   time, backend, change, reason and the check result of then.
// Hooks for tests: td[data-col="spark-rate"|"spark-active"|"spark-state"] >
// svg[data-last][data-samples], and #timeline tr[data-event] with
// data-backend, data-what, data-to.

/** Rows of the timeline table on the page (the primary keeps more: /history). */
export const TIMELINE_ROWS = 100

export const CHARTS_CSS = `
svg.spark{vertical-align:middle;background:#fff;border:1px solid #ddd}
svg.spark path{fill:none;stroke:#1f5fbf;stroke-width:1.2}
svg.spark path.area{fill:#1f5fbf22;stroke:none}
#timeline td.ejected{background:#fde3b8}#timeline td.unknown{background:#eee}
span.sv{display:inline-block;min-width:3.5em;text-align:right;margin-left:4px;font-variant-numeric:tabular-nums}
#timeline td.when{white-space:nowrap;font-variant-numeric:tabular-nums}
`

export const CHARTS_JS = `
const SVGNS = 'http://www.w3.org/2000/svg'
const COLORS = { ready: '#5cb85c', drain: '#5b8def', maint: '#9b6dd6', down: '#d9534f', up: '#5cb85c', unknown: '#bbb', ejected: '#f0ad4e' }
const W = 120, H = 22
let hist = null
function el(name, attrs) {
  const e = document.createElementNS(SVGNS, name)
  for (const k in attrs) e.setAttribute(k, String(attrs[k]))
  return e
}
function fmt(v) { return v === null ? '-' : (v >= 100 ? String(Math.round(v)) : String(Math.round(v * 10) / 10)) }
function spark(values, kept, unit) {
  const svg = el('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, class: 'spark' })
  let max = 0, last = null, n = 0
  for (const v of values) if (v !== null) { max = Math.max(max, v); last = v; n++ }
  const top = max > 0 ? max : 1
  const step = W / Math.max(1, kept - 1)
  let d = '', area = '', open = false, firstX = 0, lastX = 0
  values.forEach((v, i) => {
    const x = (W - (values.length - 1 - i) * step).toFixed(1)
    if (v === null) { if (open) area += 'L' + lastX + ' ' + H + 'L' + firstX + ' ' + H + 'Z'; open = false; return }
    const y = (H - 1 - (v / top) * (H - 3)).toFixed(1)
    if (!open) { d += 'M' + x + ' ' + y; area += 'M' + x + ' ' + H + 'L' + x + ' ' + y; firstX = x; open = true } else { d += 'L' + x + ' ' + y; area += 'L' + x + ' ' + y }
    lastX = x
  })
  if (open) area += 'L' + lastX + ' ' + H + 'L' + firstX + ' ' + H + 'Z'
  svg.append(el('path', { d: area, class: 'area' }), el('path', { d: d, class: 'line' }))
  const title = el('title', {}); title.textContent = 'now ' + fmt(last) + unit + ', max ' + fmt(max) + unit + ' over the last ' + n + ' samples'
  svg.append(title)
  svg.dataset.last = last === null ? '' : String(last)
  svg.dataset.samples = String(n)
  svg.dataset.d = d
  return svg
}
function stateStrip(key, current, from, known, to) {
  const svg = el('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, class: 'spark' })
  let t = Math.max(from, known) // nothing is drawn before the first sample
  const evs = hist.events.filter((e) => e.what === 'state' && e.pool + '/' + e.backend === key && e.at > t)
  let state = evs.length > 0 ? evs[0].from : current
  const span = Math.max(1, to - from)
  const seg = (a, b, s) => { if (b > a) svg.append(el('rect', { x: ((a - from) / span * W).toFixed(1), y: 2, width: Math.max(0.5, (b - a) / span * W).toFixed(1), height: H - 4, fill: COLORS[s] || '#bbb' })) }
  for (const e of evs) { seg(t, e.at, state); t = e.at; state = e.to }
  seg(t, to, current)
  const title = el('title', {}); title.textContent = evs.length + ' state change(s) in the window'
  svg.append(title)
  svg.dataset.changes = String(evs.length)
  return svg
}
function drawSparks(now) {
  if (hist === null) return
  const byKey = new Map(hist.backends.map((b) => [b.pool + '/' + b.id, b]))
  const times = hist.sampleTimes
  const from = now - hist.intervalMs * (hist.samplesKept - 1) // the window the sparklines span
  const known = times.length > 0 ? times[0] : now
  for (const row of document.querySelectorAll('#backends tr[data-backend]')) {
    const key = row.dataset.backend
    const s = byKey.get(key)
    const fill = (col, node, text) => {
      const c = row.querySelector('td[data-col="' + col + '"]'); if (!c) return
      c.replaceChildren(node)
      if (text !== undefined) { const v = document.createElement('span'); v.className = 'sv'; v.textContent = text; c.append(v) }
    }
    if (s) {
      const r = spark(s.connRate, hist.samplesKept, '/s'), a = spark(s.active, hist.samplesKept, '')
      fill('spark-rate', r, fmt(r.dataset.last === '' ? null : Number(r.dataset.last)) + '/s')
      fill('spark-active', a, fmt(a.dataset.last === '' ? null : Number(a.dataset.last)))
    }
    const st = row.querySelector('td[data-col="state"]')
    if (st) fill('spark-state', stateStrip(key, st.className.split(' ').pop(), from, known, now))
  }
}
function drawTimeline() {
  if (hist === null) return
  const tb = document.createElement('tbody')
  const evs = hist.events.slice(-${TIMELINE_ROWS}).reverse()
  for (const e of evs) {
    const r = document.createElement('tr')
    r.dataset.event = String(e.at); r.dataset.backend = e.pool + '/' + e.backend; r.dataset.what = e.what; r.dataset.to = e.to
    const when = new Date(e.at)
    const chk = e.check
    r.append(td(when.toTimeString().slice(0, 8) + '.' + String(when.getMilliseconds()).padStart(3, '0'), 'when', 'when'), td(e.pool + '/' + e.backend, 'backend'),
      td(e.what, 'what'), td(e.from.toUpperCase() + ' → ' + e.to.toUpperCase(), 'change', 'st ' + e.to), td(e.reason, 'reason'),
      td(chk === null ? '-' : (chk.ok ? 'OK ' : 'FAIL ') + chk.detail + ' (' + Math.round(chk.durationMs) + 'ms)', 'check', chk === null ? '' : (chk.ok ? 'up' : 'down')))
    tb.append(r)
  }
  $('timeline').tBodies[0].replaceWith(tb)
  $('tl-meta').textContent = hist.events.length + ' of at most ' + hist.eventsKept + ' events kept; samples every ' + (hist.intervalMs / 1000) + ' s, ' + hist.samplesKept + ' kept (' + Math.round(hist.intervalMs * hist.samplesKept / 60000) + ' min)'
}
let histAt = 0
async function tickHistory(headers) {
  if (hist !== null && Date.now() - histAt < Math.min(hist.intervalMs, 2000)) return
  const res = await fetch('history', { headers: headers, cache: 'no-store' })
  if (!res.ok) throw new Error('GET /history: HTTP ' + res.status)
  hist = await res.json(); histAt = Date.now()
  drawTimeline()
}
`
