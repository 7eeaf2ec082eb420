// What /metrics renders: the primary's counters and gauges summed across
// workers (see worker-stats.ts for what each worker reports). Plain JSON.
// Counters (`...Total`) are monotonic since the primary started, including
// workers that have since died.
import type { BackendState } from '../health/types.ts'

export interface BackendTotals {
  readonly pool: string
  readonly id: string
  readonly state: BackendState
  readonly active: number
  readonly connectionsTotal: number
  readonly connectFailuresTotal: number // connect errors and connect timeouts
  readonly observedSuccessTotal: number | null // observe http-connect: 2xx answers; null when the pool does not observe
  readonly observedFailuresTotal: number | null // observe http-connect: 5xx (407 when configured) answers and timeouts; null when not observing
  readonly bytesReceivedTotal: number // read from the backend (flows to clients)
  readonly bytesSentTotal: number // written to the backend (from clients)
  readonly checkDurationSeconds: number | null // last active check; null before any, or checks off
  readonly agentWeightPercent: number | null // agent's N% (100 before it sent one); null without an agent
  readonly agentPollsTotal: number | null // agent polls finished; null without an agent
  readonly agentIgnoredTotal: number | null // of which ignored (no line, bad line); null without an agent
  readonly observedSuccessRatio: number | null // successes / answers over the pool's observe-window; null: not observing, or no answer in it
  readonly observedWindowSuccess: number | null // 2xx answers in the window; null when not observing
  readonly observedWindowFailures: number | null // failed answers in the window; null when not observing
}

export interface ListenerTotals {
  readonly name: string
  readonly acceptedTotal: number
  readonly rejectedTotal: number // refused: maxconn reached, no backend available
  readonly proxyErrorsTotal: number // PROXY headers refused: untrusted source, malformed, incomplete or timed out
  readonly active: number
}

/** A pool's retry-budget and queue counters, all workers (see worker-stats.ts PoolStats). */
export interface PoolTotals {
  readonly pool: string
  readonly retriesTotal: number
  readonly retryOverflowsTotal: number
  readonly queued: number // gauge
  readonly dequeuedTotal: number
  readonly queueWaitSecondsTotal: number
  readonly queueTimeoutsTotal: number
  readonly queueRefusedTotal: number
  readonly queueAbortedTotal: number
}

export interface WorkerTotals {
  readonly id: number
  readonly pid: number
  readonly up: boolean
  readonly restartsTotal: number
  readonly residentMemoryBytes: number | null // last reported RSS; null before the first report
  readonly cpuSecondsTotal: number | null // user + system, last reported
  readonly nativeSessions: number | null // carried by the native engine now; null before the first report
  readonly nativeHandoffsTotal: number | null // handed to the native engine since the worker started
  readonly nativeConnectsTotal: number | null // of those, whose backend the native engine connected (stage 2)
  readonly nativeFallbacksTotal: number | null // the native engine could not take them: served by JavaScript
  readonly nativeAcceptsTotal: number | null // stage 3: clients the native engine accepted itself
  readonly nativeAcceptBatchesTotal: number | null // stage 3: crossings that answered them (picks in batches)
}

export interface AggregatedStats {
  readonly backends: readonly BackendTotals[]
  readonly listeners: readonly ListenerTotals[]
  readonly pools: readonly PoolTotals[]
  readonly workers: readonly WorkerTotals[]
  readonly healthVersion: number
  readonly configReloadsTotal: number // successful reloads since start
  readonly configReloadFailuresTotal: number // rejected reloads since start
  readonly fleet: FleetStats | null // null: not in a fleet (no l4lb_fleet_* series)
}

/** A fleet node's numbers (docs/fleet.md). */
export interface FleetStats {
  readonly role: 'leader' | 'follower' | 'standalone'
  readonly leaderTerm: number | null
  readonly configRevision: number // store revision of the shared config in force
  readonly configRejected: boolean // the newest store value was refused
  readonly configRejectionsTotal: number
  readonly healthAgeSeconds: number | null
  readonly fallbacksTotal: number
  readonly fencedTotal: number
  readonly storeReachable: boolean
}

/** Where the metrics registry reads its numbers at each scrape (the admin model). */
export interface StatsSource {
  /** Counters and gauges summed across workers. */
  stats(): AggregatedStats
}

/** A backend's observe http-connect answers in its pool's observe-window (the primary's ObservedRates): `successRatio` is ok / (ok + failed), null when there were none ("no data"). */
export interface ObservedWindow {
  readonly windowMs: number
  readonly ok: number
  readonly failed: number
  readonly successRatio: number | null
}
