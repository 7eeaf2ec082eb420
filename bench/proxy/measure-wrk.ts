// Measures 1 and 2 with wrk: the new-connection rate (`Connection: close`, so each
// request is a new proxied TCP connection) with the proxy's CPU time per connection,
// and keep-alive requests/s with p50/p99 latency.
import { runTool } from './procs.ts'
import { treeCpu, type CpuSample } from './proctree.ts'

export interface WrkOutput {
  readonly requests: number
  readonly seconds: number
  readonly reqPerSec: number
  readonly p50Ms: number | null
  readonly p99Ms: number | null
  readonly errors: number // connect + read + write + timeout
  readonly non2xx: number
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 }

function latencyMs(out: string, pct: string): number | null {
  const m = new RegExp(`^\\s+${pct}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out)
  return m ? Number(m[1]) * UNIT_MS[m[2]] : null
}

/** Parses wrk's text report; throws when the summary lines are missing. */
export function parseWrk(out: string): WrkOutput {
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m),/.exec(out)
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)
  if (!total || !rps) throw new Error(`unreadable wrk output:\n${out}`)
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  const errors = sock ? Number(sock[1]) + Number(sock[2]) + Number(sock[3]) + Number(sock[4]) : 0
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out)
  return {
    requests: Number(total[1]),
    seconds: (Number(total[2]) * UNIT_MS[total[3]]) / 1000,
    reqPerSec: Number(rps[1]),
    p50Ms: latencyMs(out, '50'),
    p99Ms: latencyMs(out, '99'),
    errors,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
  }
}

async function wrk(port: number, seconds: number, extra: readonly string[]): Promise<WrkOutput> {
  const args = ['-t1', '-c50', `-d${seconds}s`, ...extra, `http://127.0.0.1:${port}/`]
  const res = await runTool('wrk', args, (seconds + 20) * 1000)
  if (res.timedOut) throw new Error(`wrk ${args.join(' ')} did not finish in time`)
  if (res.code !== 0) throw new Error(`wrk exited ${res.code}: ${res.stderr || res.stdout}`)
  return parseWrk(res.stdout)
}

export interface ConnRateResult {
  readonly connPerSec: number
  readonly cpuUsPerConn: number | null // proxy tree user+system CPU per connection, µs
  readonly userShare: number | null // user / (user + system), 0..1
  readonly errors: number
}

/** New connections per second through `port`; CPU per connection of the tree under `pid`. */
export async function measureConnRate(port: number, pid: number | null, seconds: number): Promise<ConnRateResult> {
  const before: CpuSample | null = pid === null ? null : treeCpu(pid)
  const out = await wrk(port, seconds, ['-H', 'Connection: close'])
  const after: CpuSample | null = pid === null ? null : treeCpu(pid)
  let cpuUsPerConn: number | null = null
  let userShare: number | null = null
  if (before && after && out.requests > 0) {
    const user = after.userSec - before.userSec
    const sys = after.systemSec - before.systemSec
    cpuUsPerConn = ((user + sys) / out.requests) * 1e6
    userShare = user + sys > 0 ? user / (user + sys) : null
  }
  return { connPerSec: out.reqPerSec, cpuUsPerConn, userShare, errors: out.errors + out.non2xx }
}

export interface KeepAliveResult {
  readonly reqPerSec: number
  readonly p50Ms: number | null
  readonly p99Ms: number | null
  readonly errors: number
}

/** Keep-alive requests per second and latency percentiles through `port`. */
export async function measureKeepAlive(port: number, seconds: number): Promise<KeepAliveResult> {
  const out = await wrk(port, seconds, ['--latency'])
  return { reqPerSec: out.reqPerSec, p50Ms: out.p50Ms, p99Ms: out.p99Ms, errors: out.errors + out.non2xx }
}

/** A short unrecorded run of both kinds, so JITs, pools and caches are warm. */
export async function warmUp(port: number, seconds: number): Promise<void> {
  await wrk(port, seconds, ['-H', 'Connection: close'])
  await wrk(port, seconds, [])
}
