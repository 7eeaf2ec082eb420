// Baseline memory of an idle l4lb process tree (primary + N workers, no
// connections): run from the TypeScript sources (Node strips types at load)
// against the installed package's built JavaScript (npm pack → offline install,
// what the container image and a global install run). Issue 11 asked for this
// figure: type stripping was estimated at ~18 MB per process.
//   node bench/rss-tree.ts [--rounds N]      (default 3 rounds, interleaved)
// Each round starts each variant with 1 and 2 workers on loopback ports, waits
// for GET /healthz, lets it settle 2 s, sums VmRSS over the tree, stops it by PID.
// Prints a Markdown table of medians (MB) and the per-process difference.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { childEnv, prepareContext } from '../scripts/image-context.ts'
import { processTree, treeRss } from './proxy/proctree.ts'
import { freePort } from '../test/helpers/cluster.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } })
const rounds = Math.max(1, Math.min(10, Number(values.rounds)))
const dir = mkdtempSync(join(tmpdir(), 'l4lb-rss-'))

interface Variant { readonly name: string; readonly cmd: (config: string) => [string, string[]] }

async function healthy(admin: number, deadlineMs: number): Promise<void> {
  const end = performance.now() + deadlineMs
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${admin}/healthz`)).status === 200) return
    } catch { /* not yet */ }
    if (performance.now() > end) throw new Error(`no /healthz on ${admin} within ${deadlineMs} ms`)
    await delay(100)
  }
}

/** Starts `v` with `workers`, returns the tree's summed VmRSS in bytes and its process count. */
async function measure(v: Variant, workers: number): Promise<{ rss: number; procs: number }> {
  const [port, admin] = [await freePort(), await freePort()]
  const config = join(dir, `${v.name}-${workers}.yaml`)
  writeFileSync(config, [
    `workers: ${workers}`,
    'listeners:', `  - { name: vip, bind: "127.0.0.1:${port}" }`,
    'pools:', '  - name: p', '    backends:', '      - { host: 127.0.0.1, port: 9, id: a }',
    `admin: { enabled: true, bind: "127.0.0.1:${admin}" }`, 'log: { level: warn }', '',
  ].join('\n'))
  const [cmd, args] = v.cmd(config)
  const child = spawn(cmd, args, { env: childEnv(), stdio: 'ignore' })
  try {
    await healthy(admin, 30_000)
    await delay(2000)
    const procs = processTree(child.pid!).length
    return { rss: treeRss(child.pid!), procs }
  } finally {
    child.kill('SIGKILL')
    for (const pid of processTree(child.pid!)) try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
  }
}

const ctx = prepareContext(join(dir, 'context'))
const node = process.execPath
const variants: Variant[] = [
  { name: 'sources', cmd: (c) => [node, [join(ROOT, 'src/cli/main.ts'), 'run', '-c', c]] },
  { name: 'package', cmd: (c) => [node, [join(ctx.app, 'node_modules/l4lb/bin/l4lb.js'), 'run', '-c', c]] },
]
const results = new Map<string, number[]>()
try {
  for (let r = 0; r < rounds; r++) {
    for (const workers of [1, 2]) {
      for (const v of r % 2 === 0 ? variants : [...variants].reverse()) {
        const m = await measure(v, workers)
        const key = `${v.name}/${workers}`
        results.set(key, [...(results.get(key) ?? []), m.rss])
        process.stderr.write(`round ${r + 1}: ${key}: ${(m.rss / 1e6).toFixed(1)} MB in ${m.procs} processes\n`)
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const mb = (b: number): string => (b / 1e6).toFixed(1)
const lines = ['| tree | from sources (MB) | installed package (MB) | saved (MB) | saved per process (MB) |', '|---|---|---|---|---|']
for (const workers of [1, 2]) {
  const s = median(results.get(`sources/${workers}`)!)
  const p = median(results.get(`package/${workers}`)!)
  lines.push(`| primary + ${workers} worker${workers === 1 ? '' : 's'} | ${mb(s)} | ${mb(p)} | ${mb(s - p)} | ${mb((s - p) / (workers + 1))} |`)
}
process.stdout.write(`Idle tree RSS (sum of VmRSS), median of ${rounds} interleaved rounds, Node ${process.version}\n\n${lines.join('\n')}\n`)
