// An SVG bar chart of the medians: one panel per metric, one horizontal bar per proxy,
// coloured by kind. Hand-written SVG, no dependency.
import { METRICS, type Summary } from './stats.ts'
import type { ProxyKind, ProxySpec } from './targets.ts'

const COLOURS: Record<ProxyKind, string> = {
  direct: '#9e9e9e',
  haproxy: '#1f77b4',
  nginx: '#2ca02c',
  l4lb: '#d62728',
}

const PANEL_W = 420
const LABEL_W = 150
const BAR_H = 16
const GAP = 4
const TITLE_H = 24
const COLS = 2

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function fmt(v: number, digits: number): string {
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

/** The chart as SVG text; `subtitle` lines name the date, machine and tools. */
export function chartSvg(specs: readonly ProxySpec[], summary: Summary, subtitle: readonly string[]): string {
  const metrics = METRICS.filter((m) => m.better !== 'info')
  const top = 30 + subtitle.length * 15
  const panelH = TITLE_H + specs.length * (BAR_H + GAP) + 12
  const rows = Math.ceil(metrics.length / COLS)
  const width = COLS * PANEL_W + 20
  const height = top + rows * panelH
  const out: string[] = []
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`)
  out.push(`<rect width="100%" height="100%" fill="#fff"/>`)
  out.push(`<text x="10" y="20" font-size="15" font-weight="bold">l4lb vs HAProxy, nginx stream and direct (medians)</text>`)
  subtitle.forEach((line, i) => out.push(`<text x="10" y="${38 + i * 15}" fill="#555">${esc(line)}</text>`))
  metrics.forEach((m, i) => {
    const x0 = 10 + (i % COLS) * PANEL_W
    const y0 = top + Math.floor(i / COLS) * panelH
    const arrow = m.better === 'higher' ? '(higher is better)' : m.better === 'lower' ? '(lower is better)' : ''
    out.push(`<text x="${x0}" y="${y0 + 15}" font-weight="bold">${esc(m.title)} <tspan font-weight="normal" fill="#777">${arrow}</tspan></text>`)
    const values = specs.map((s) => summary[s.id]?.[m.key]?.median ?? null)
    const max = Math.max(0, ...values.filter((v): v is number => v !== null))
    const barMax = PANEL_W - LABEL_W - 70
    specs.forEach((s, j) => {
      const y = y0 + TITLE_H + j * (BAR_H + GAP)
      out.push(`<text x="${x0 + LABEL_W - 6}" y="${y + BAR_H - 4}" text-anchor="end">${esc(s.label)}</text>`)
      const v = values[j]
      if (v === null) {
        out.push(`<text x="${x0 + LABEL_W + 2}" y="${y + BAR_H - 4}" fill="#999">–</text>`)
        return
      }
      const w = max > 0 ? Math.max(1, (v / max) * barMax) : 1
      out.push(`<rect x="${x0 + LABEL_W}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${COLOURS[s.kind]}"/>`)
      out.push(`<text x="${(x0 + LABEL_W + w + 4).toFixed(1)}" y="${y + BAR_H - 4}">${esc(fmt(v, m.digits))}</text>`)
    })
  })
  out.push('</svg>')
  return out.join('\n') + '\n'
}
