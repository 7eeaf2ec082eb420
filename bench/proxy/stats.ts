// What one round records per proxy, the metrics read from it, and the summary:
// medians over rounds, and ratios to HAProxy (same thread count) and to direct taken
// per round (paired, as the machine drifts) and then the median over rounds.
import type { ConnRateResult, KeepAliveResult } from './measure-wrk.ts'
import type { IdleResult } from './measure-idle.ts'
import { haproxyRefId, type ProxySpec } from './targets.ts'

export interface RoundResult {
  connRate?: ConnRateResult
  keepAlive?: KeepAliveResult
  iperf1Gbps?: number
  iperf4Gbps?: number
  idle?: IdleResult
  errors: string[] // measures that failed this round, with why
}

export interface MetricDef {
  readonly key: string
  readonly title: string
  readonly unit: string
  readonly better: 'higher' | 'lower' | 'info'
  readonly digits: number
  readonly get: (r: RoundResult) => number | null | undefined
}

export const METRICS: readonly MetricDef[] = [
  { key: 'connPerSec', title: 'new conn/s', unit: 'conn/s', better: 'higher', digits: 0, get: (r) => r.connRate?.connPerSec },
  { key: 'cpuUsPerConn', title: 'CPU µs/conn', unit: 'µs', better: 'lower', digits: 1, get: (r) => r.connRate?.cpuUsPerConn },
  { key: 'userShare', title: 'user CPU %', unit: '%', better: 'info', digits: 0, get: (r) => (r.connRate?.userShare == null ? null : r.connRate.userShare * 100) },
  { key: 'kaReqPerSec', title: 'keep-alive req/s', unit: 'req/s', better: 'higher', digits: 0, get: (r) => r.keepAlive?.reqPerSec },
  { key: 'kaP50Ms', title: 'p50 ms', unit: 'ms', better: 'lower', digits: 3, get: (r) => r.keepAlive?.p50Ms },
  { key: 'kaP99Ms', title: 'p99 ms', unit: 'ms', better: 'lower', digits: 3, get: (r) => r.keepAlive?.p99Ms },
  { key: 'iperf1Gbps', title: 'iperf3 1 stream Gbit/s', unit: 'Gbit/s', better: 'higher', digits: 2, get: (r) => r.iperf1Gbps },
  { key: 'iperf4Gbps', title: 'iperf3 -P 4 Gbit/s', unit: 'Gbit/s', better: 'higher', digits: 2, get: (r) => r.iperf4Gbps },
  { key: 'idleKBPerConn', title: 'KB per idle conn', unit: 'KB', better: 'lower', digits: 2, get: (r) => r.idle?.kbPerConn },
]

/** Median of the finite values; null when there are none. */
export function median(values: readonly (number | null | undefined)[]): number | null {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return null
  const mid = v.length >> 1
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1] + v[mid]) / 2
}

/** rounds[i][proxyId] is what round i recorded for that proxy. */
export type Rounds = ReadonlyArray<Readonly<Record<string, RoundResult>>>

export interface Cell {
  readonly median: number | null
  readonly vsHaproxy: number | null // median over rounds of value / HAProxy's (same threads)
  readonly vsDirect: number | null // median over rounds of value / direct's
  readonly perRound: readonly (number | null)[]
}

export type Summary = Record<string, Record<string, Cell>> // proxyId -> metric key -> cell

function pairedRatio(rounds: Rounds, id: string, refId: string | undefined, m: MetricDef): number | null {
  if (refId === undefined || refId === id) return null
  return median(
    rounds.map((r) => {
      const a = r[id] ? m.get(r[id]) : null
      const b = r[refId] ? m.get(r[refId]) : null
      return typeof a === 'number' && typeof b === 'number' && b !== 0 ? a / b : null
    }),
  )
}

/** Medians and paired ratios for every proxy and metric. */
export function summarise(specs: readonly ProxySpec[], rounds: Rounds): Summary {
  const out: Summary = {}
  for (const spec of specs) {
    out[spec.id] = {}
    for (const m of METRICS) {
      const perRound = rounds.map((r) => (r[spec.id] ? (m.get(r[spec.id]) ?? null) : null))
      out[spec.id][m.key] = {
        median: median(perRound),
        vsHaproxy: m.better === 'info' ? null : pairedRatio(rounds, spec.id, haproxyRefId(spec), m),
        vsDirect: m.better === 'info' || spec.kind === 'direct' ? null : pairedRatio(rounds, spec.id, 'direct', m),
        perRound,
      }
    }
  }
  return out
}

/** Paired median ratio of `id` over `refId` for metric `key` (for the scaling table). */
export function ratioOf(rounds: Rounds, id: string, refId: string, key: string): number | null {
  const m = METRICS.find((x) => x.key === key)
  return m ? pairedRatio(rounds, id, refId, m) : null
}
