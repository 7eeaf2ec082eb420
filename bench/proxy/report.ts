// The report: the machine, markdown tables (medians; ratios to HAProxy and direct;
// scaling from 1 to N workers), the JSON written under bench/results/, and the table
// block of docs/performance.md.
import { execFileSync } from 'node:child_process'
import { cpus, release } from 'node:os'
import { readFileSync, writeFileSync, existsSync } from 'node:fs'
import { METRICS, ratioOf, type Rounds, type Summary } from './stats.ts'
import type { ProxySpec } from './targets.ts'

export interface Machine {
  readonly nproc: number
  readonly model: string
  readonly kernel: string
  readonly node: string
  readonly tools: Record<string, string>
}

/** First line a tool prints for its version (some print to stderr or exit non-zero). */
function versionLine(cmd: string): string {
  try {
    const out = execFileSync('sh', ['-c', `${cmd} 2>&1 || true`], { encoding: 'utf8' })
    return out.split('\n')[0].trim() || 'unknown'
  } catch {
    return 'unknown'
  }
}

export function machine(): Machine {
  return {
    nproc: cpus().length,
    model: cpus()[0]?.model ?? 'unknown',
    kernel: release(),
    node: process.version,
    tools: {
      haproxy: versionLine('haproxy -v'),
      nginx: versionLine('nginx -v'),
      wrk: versionLine('wrk -v'),
      iperf3: versionLine('iperf3 -v'),
    },
  }
}

function fmt(v: number | null, digits: number): string {
  if (v === null) return '–'
  return v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

const ratio = (v: number | null): string => (v === null ? '–' : v.toFixed(2))

function row(cells: readonly string[]): string {
  return `| ${cells.join(' | ')} |`
}

/** Markdown: medians, ratios, scaling. `n` is l4lb's worker count. */
export function markdownTables(specs: readonly ProxySpec[], summary: Summary, rounds: Rounds, n: number): string {
  const lines: string[] = []
  // Columns of measures that were skipped (or failed everywhere) are left out.
  const shown = METRICS.filter((m) => specs.some((s) => summary[s.id][m.key].median !== null))
  lines.push(row(['proxy', ...shown.map((m) => m.title)]))
  lines.push(row(['---', ...shown.map(() => '---:')]))
  for (const s of specs) lines.push(row([s.label, ...shown.map((m) => fmt(summary[s.id][m.key].median, m.digits))]))
  lines.push('')
  lines.push('Ratios, "× HAProxy (same threads) / × direct" (median of per-round ratios; higher is better for rates, lower for CPU, latency and memory):')
  lines.push('')
  const ratioMetrics = shown.filter((m) => m.better !== 'info')
  lines.push(row(['proxy', ...ratioMetrics.map((m) => m.title)]))
  lines.push(row(['---', ...ratioMetrics.map(() => '---:')]))
  for (const s of specs) {
    if (s.kind === 'direct') continue
    const cells = ratioMetrics.map((m) => {
      const c = summary[s.id][m.key]
      return `${ratio(c.vsHaproxy)} / ${ratio(c.vsDirect)}`
    })
    lines.push(row([s.label, ...cells]))
  }
  lines.push('')
  lines.push(`Scaling, 2 (or N) over 1 thread/worker, and variants of one proxy (median of per-round ratios):`)
  lines.push('')
  const scaleKeys = ['connPerSec', 'kaReqPerSec', 'iperf1Gbps', 'iperf4Gbps'].filter((k) => shown.some((m) => m.key === k))
  const scaleTitles = scaleKeys.map((k) => METRICS.find((m) => m.key === k)?.title ?? k)
  lines.push(row(['proxy', ...scaleTitles]))
  lines.push(row(['---', ...scaleKeys.map(() => '---:')]))
  const pairs: Array<[string, string, string]> = [
    ['HAProxy 2 / 1 threads', 'haproxy-2', 'haproxy-1'],
    ['nginx stream 2 / 1 workers', 'nginx-2', 'nginx-1'],
    [`l4lb ${n} / 1 workers`, `l4lb-${n}`, 'l4lb-1'],
    [`l4lb native ${n} / 1 workers`, `l4lb-native-${n}`, 'l4lb-native-1'],
    ['l4lb native 1 worker, stage 2 / stage 1', 'l4lb-native-s2-1', 'l4lb-native-s1-1'],
    ['l4lb native 1 worker, stage 3 / stage 2', 'l4lb-native-1', 'l4lb-native-s2-1'],
    ['HAProxy 1 thread, splice-auto / without', 'haproxy-splice-1', 'haproxy-1'],
  ]
  const present = pairs.filter(([, a, b]) => specs.some((s) => s.id === a) && specs.some((s) => s.id === b))
  if (present.length === 0 || scaleKeys.length === 0) return lines.slice(0, -4).join('\n')
  for (const [label, a, b] of present) lines.push(row([label, ...scaleKeys.map((k) => ratio(ratioOf(rounds, a, b, k)))]))
  return lines.join('\n')
}

/** Two lines: date and machine; software versions. */
export function machineLines(m: Machine, date: Date): [string, string] {
  const haproxy = m.tools.haproxy.replace(/^HAProxy version (\S+).*$/, 'HAProxy $1')
  const nginx = m.tools.nginx.replace(/^nginx version: nginx\//, 'nginx ')
  const wrk = m.tools.wrk.replace(/^wrk (\S+).*$/, 'wrk $1')
  return [
    `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC · ${m.nproc} × ${m.model} · Linux ${m.kernel}`,
    `Node ${m.node} · ${haproxy} · ${nginx} · ${m.tools.iperf3.replace(/ \(.*$/, '')} · ${wrk}`,
  ]
}

export function writeJson(file: string, data: unknown): void {
  writeFileSync(file, JSON.stringify(data, null, 2) + '\n')
}

const START = '<!-- bench:proxy:start -->'
const END = '<!-- bench:proxy:end -->'

/** Replaces the block between the bench markers in `docFile`; false when the markers are absent. */
export function updateDoc(docFile: string, block: string): boolean {
  if (!existsSync(docFile)) return false
  const text = readFileSync(docFile, 'utf8')
  const a = text.indexOf(START)
  const b = text.indexOf(END)
  if (a < 0 || b < a) return false
  writeFileSync(docFile, text.slice(0, a + START.length) + '\n' + block.trim() + '\n' + text.slice(b))
  return true
}
