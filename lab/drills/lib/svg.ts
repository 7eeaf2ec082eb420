// SVG timeline of short connections: per 10 ms bucket (by connection start), successes
// as green bars above the axis and failures as red bars below, with labelled event marks.
// Returns a complete SVG document; an empty connection list gives an axis with the marks only.
import type { Ev } from './stream.ts'

export interface Mark { label: string; t: number }
const BUCKET = 10

export function timelineSvg(title: string, conns: Ev[], marks: Mark[]): string {
  const times = conns.map((c) => Number(c.t0)).filter(Number.isFinite)
  const all = [...times, ...marks.map((m) => m.t)]
  const t0 = all.length ? Math.min(...all) : 0 // no connections and no marks: an empty axis
  const t1 = Math.max(...all, t0 + 1000)
  const n = Math.max(1, Math.ceil((t1 - t0) / BUCKET) + 1)
  const ok = new Array<number>(n).fill(0)
  const bad = new Array<number>(n).fill(0)
  for (const c of conns) {
    const b = Math.floor((Number(c.t0) - t0) / BUCKET)
    if (b < 0 || b >= n) continue
    if (c.ok) ok[b]++
    else bad[b]++
  }
  const px = Math.max(1, Math.min(4, Math.floor(1600 / n)))
  const W = n * px + 120
  const max = Math.max(1, ...ok, ...bad)
  const H = 140
  const mid = 30 + H
  const scale = (v: number) => (v / max) * H
  const parts: string[] = []
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${2 * H + 90}" font-family="monospace" font-size="11">`)
  parts.push(`<rect width="100%" height="100%" fill="white"/>`)
  parts.push(`<text x="10" y="18" font-size="13">${esc(title)}: connections per ${BUCKET} ms bucket (green ok, red failed); max ${max}/bucket; ${(n * BUCKET / 1000).toFixed(2)} s</text>`)
  for (let i = 0; i < n; i++) {
    const x = 60 + i * px
    if (ok[i]) parts.push(`<rect x="${x}" y="${(mid - scale(ok[i])).toFixed(1)}" width="${px}" height="${scale(ok[i]).toFixed(1)}" fill="#2a2"/>`)
    if (bad[i]) parts.push(`<rect x="${x}" y="${mid}" width="${px}" height="${scale(bad[i]).toFixed(1)}" fill="#d22"/>`)
  }
  parts.push(`<line x1="60" y1="${mid}" x2="${60 + n * px}" y2="${mid}" stroke="black"/>`)
  for (let s = 0; s * 1000 <= n * BUCKET; s++) {
    const x = 60 + (s * 1000 / BUCKET) * px
    parts.push(`<line x1="${x}" y1="${mid}" x2="${x}" y2="${mid + 5}" stroke="black"/><text x="${x - 6}" y="${mid + H + 20}">${s}s</text>`)
  }
  marks.forEach((m, k) => {
    const x = 60 + ((m.t - t0) / BUCKET) * px
    const y = 40 + (k % 6) * 12
    parts.push(`<line x1="${x.toFixed(1)}" y1="30" x2="${x.toFixed(1)}" y2="${mid + H}" stroke="#36c" stroke-dasharray="3,2"/>`)
    parts.push(`<text x="${(x + 3).toFixed(1)}" y="${y}" fill="#36c">${esc(m.label)}</text>`)
  })
  parts.push('</svg>')
  return parts.join('\n') + '\n'
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
