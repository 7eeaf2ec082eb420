// `npm run bench`: l4lb beside HAProxy, nginx stream and a direct connection, all on
// 127.0.0.1 in front of the same backends. Proxies are interleaved measure by measure
// within each round (order rotated per round), medians over rounds are reported with
// per-round paired ratios. It reports; it asserts nothing about speed.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseOptions, USAGE, type Options } from './args.ts'
import { measureIdle } from './measure-idle.ts'
import { measureIperf } from './measure-iperf.ts'
import { measureConnRate, measureKeepAlive, warmUp } from './measure-wrk.ts'
import { installCleanupHandlers, isStopping, stopAll } from './procs.ts'
import { machine, machineLines, markdownTables, updateDoc, writeJson } from './report.ts'
import { ensureTools } from './setup.ts'
import { summarise, type RoundResult } from './stats.ts'
import { chartSvg } from './svg.ts'
import { L4LB_CLI, REPO_ROOT, proxySpecs, startBackends, startTarget, type Backends, type ProxySpec, type RunningTarget } from './targets.ts'

const RESULTS = join(REPO_ROOT, 'bench/results')
const DOC = join(REPO_ROOT, 'docs/performance.md')

const say = (s: string): void => void process.stdout.write(s + '\n')
const fmt0 = (v: number): string => Math.round(v).toLocaleString('en-US')

function rotate<T>(xs: readonly T[], k: number): T[] {
  const n = xs.length === 0 ? 0 : k % xs.length
  return [...xs.slice(n), ...xs.slice(0, n)]
}

/** Runs one measure for one target, storing the result or the error in `rec`. */
async function measureOne(measure: string, t: RunningTarget, be: Backends, opts: Options, rec: RoundResult, tmp: string): Promise<void> {
  const pid = t.proc?.pid ?? null
  const tag = `  ${measure.padEnd(9)} ${t.spec.id.padEnd(10)}`
  try {
    if (measure === 'connrate') {
      const r = await measureConnRate(t.ports.http, pid, opts.seconds)
      rec.connRate = r
      const cpu = r.cpuUsPerConn === null ? '' : `, ${r.cpuUsPerConn.toFixed(1)} µs CPU/conn (${Math.round((r.userShare ?? 0) * 100)}% user)`
      say(`${tag} ${fmt0(r.connPerSec)} conn/s${cpu}${r.errors ? `, ${r.errors} errors` : ''}`)
    } else if (measure === 'keepalive') {
      const r = await measureKeepAlive(t.ports.http, opts.seconds)
      rec.keepAlive = r
      say(`${tag} ${fmt0(r.reqPerSec)} req/s, p50 ${r.p50Ms?.toFixed(3)} ms, p99 ${r.p99Ms?.toFixed(3)} ms${r.errors ? `, ${r.errors} errors` : ''}`)
    } else if (measure === 'iperf') {
      rec.iperf1Gbps = await measureIperf(t.ports.iperf, opts.iperfSeconds, 1)
      rec.iperf4Gbps = await measureIperf(t.ports.iperf, opts.iperfSeconds, 4)
      say(`${tag} ${rec.iperf1Gbps.toFixed(2)} Gbit/s 1 stream, ${rec.iperf4Gbps.toFixed(2)} Gbit/s 4 streams`)
    } else if (measure === 'idle') {
      if (t.spec.kind === 'direct') return // no proxy, nothing to weigh
      // A fresh instance, so pools grown by earlier load do not hide the cost.
      const fresh = await startTarget(t.spec, be.ports, tmp)
      try {
        const r = await measureIdle(fresh.ports.http, fresh.proc?.pid as number, be.ports.http, opts.idle, tmp)
        rec.idle = r
        const mb = (b: number): string => (b / 1048576).toFixed(1)
        say(`${tag} ${r.kbPerConn.toFixed(2)} KB/conn (${r.connections} open, ${r.backendConnections} at backends, ${r.failed} failed; RSS ${mb(r.rssBeforeBytes)} → ${mb(r.rssAfterBytes)} MB, ${mb(r.rssAfterCloseBytes)} MB after close; settled in ${r.settleMs} ms)`)
      } finally {
        await fresh.stop()
      }
    }
  } catch (err) {
    const msg = `${measure}: ${(err as Error).message.split('\n').slice(0, 3).join(' ')}`
    rec.errors.push(msg)
    say(`${tag} FAILED ${msg}`)
  }
}

async function main(): Promise<number> {
  let opts: Options | null
  try {
    opts = parseOptions(process.argv.slice(2))
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`)
    return 2
  }
  if (opts === null) {
    say(USAGE)
    return 0
  }
  installCleanupHandlers()
  if (opts.setup) ensureTools()

  const date = new Date()
  const mach = machine()
  say(`# proxy benchmark${opts.quick ? ' (quick)' : ''}`)
  for (const l of machineLines(mach, date)) say(l)
  say(`rounds ${opts.rounds}, wrk ${opts.seconds} s, iperf3 ${opts.iperfSeconds} s, ${opts.idle} idle connections, l4lb N = ${opts.workers}`)

  const notes: string[] = []
  let exitCode = 0
  let specs: ProxySpec[] = proxySpecs(opts.workers)
  if (opts.only) {
    const only = opts.only
    for (const id of only) if (!specs.some((s) => s.id === id)) notes.push(`--only: no proxy named ${id} (known: ${specs.map((s) => s.id).join(', ')})`)
    specs = specs.filter((s) => only.includes(s.id))
  }
  if (!existsSync(L4LB_CLI) && specs.some((s) => s.kind === 'l4lb')) {
    notes.push(`l4lb skipped: ${L4LB_CLI} does not exist yet`)
    specs = specs.filter((s) => s.kind !== 'l4lb')
  }

  const tmp = mkdtempSync(join(tmpdir(), 'l4lb-bench-'))
  const rounds: Record<string, RoundResult>[] = []
  const targets: RunningTarget[] = []
  let be: Backends | null = null
  try {
    be = await startBackends(tmp)
    for (const spec of specs) {
      try {
        targets.push(await startTarget(spec, be.ports, tmp))
      } catch (err) {
        notes.push(`${spec.id} failed to start: ${(err as Error).message}`)
        say(`${spec.id} FAILED to start: ${(err as Error).message}`)
        exitCode = 1
      }
    }
    specs = specs.filter((s) => targets.some((t) => t.spec.id === s.id))
    const loadMeasures = opts.measures.filter((m) => m !== 'idle')
    if (opts.warmupSeconds > 0 && loadMeasures.length > 0) {
      say(`warm-up ${opts.warmupSeconds} s per proxy`)
      for (const t of targets) if (!isStopping()) await warmUp(t.ports.http, opts.warmupSeconds).catch((err: Error) => say(`  warm-up ${t.spec.id}: ${err.message}`))
    }
    for (let r = 0; r < opts.rounds && !isStopping(); r++) {
      const rec: Record<string, RoundResult> = {}
      for (const t of targets) rec[t.spec.id] = { errors: [] }
      const order = rotate(targets, r)
      say(`round ${r + 1}/${opts.rounds}: ${order.map((t) => t.spec.id).join(', ')}`)
      for (const m of opts.measures) for (const t of order) if (!isStopping()) await measureOne(m, t, be, opts, rec[t.spec.id], tmp)
      rounds.push(rec)
    }
  } finally {
    await Promise.all(targets.map((t) => t.stop()))
    await be?.stop()
    await stopAll()
  }

  for (const [i, rec] of rounds.entries()) for (const [id, r] of Object.entries(rec)) for (const e of r.errors) notes.push(`round ${i + 1} ${id}: ${e}`)
  const summary = summarise(specs, rounds)
  const tables = markdownTables(specs, summary, rounds, opts.workers)
  const mlines = machineLines(mach, date)
  say('')
  say(`## Results: medians of ${opts.rounds} round(s)${opts.quick ? ' (quick: smoke only, not for comparison)' : ''}`)
  for (const l of mlines) say(l)
  say('')
  say(tables)
  if (notes.length > 0) say('\nNotes:\n' + notes.map((n) => `- ${n}`).join('\n'))

  mkdirSync(RESULTS, { recursive: true })
  const base = opts.quick ? 'quick' : (opts.tag ?? 'latest')
  const json = { version: 1, date: date.toISOString(), quick: opts.quick, options: opts, machine: mach, proxies: specs, rounds, summary, notes }
  writeJson(join(RESULTS, `${base}.json`), json)
  if (!opts.quick && opts.tag === null) writeJson(join(RESULTS, `${date.toISOString().slice(0, 16).replace(/:/g, '')}.json`), json)
  writeFileSync(join(RESULTS, `${base}.svg`), chartSvg(specs, summary, mlines))
  const block = `Run of ${mlines[0]}; ${mlines[1]}.\n\n${opts.rounds} rounds, wrk ${opts.seconds} s, iperf3 ${opts.iperfSeconds} s, ${opts.idle} idle connections.\n\n${tables}\n`
  writeFileSync(join(RESULTS, `${base}.md`), block + (notes.length ? '\nNotes:\n' + notes.map((n) => `- ${n}`).join('\n') + '\n' : ''))
  say(`\nwrote bench/results/${base}.json, ${base}.svg, ${base}.md`)
  if (opts.docs && updateDoc(DOC, block)) say('updated the table in docs/performance.md')

  if (exitCode === 0) rmSync(tmp, { recursive: true, force: true })
  else say(`logs kept in ${tmp}`)
  return exitCode
}

main().then(
  (code) => process.exit(code),
  async (err: Error) => {
    process.stderr.write(`bench: ${err.stack ?? err.message}\n`)
    await stopAll()
    process.exit(1)
  },
)
