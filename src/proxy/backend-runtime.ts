// What a worker knows of one backend at run time. Counters (`load`, `stats`)
// live as long as the backend stays in its pool, across picker rebuilds and
// reloads, because connections outlive any one snapshot; the rest is rebuilt.
import type { BackendLoad, PickerBackend } from '../balancer/picker.ts'
import type { SuccessWindow } from '../balancer/success-window.ts'
import type { BackendConfig, SendProxy } from '../config/types.ts'
import type { BackendState } from '../health/types.ts'

export interface BackendCounters {
  total: number // connections established
  connectFailures: number // refused, errored or timed out while connecting
  bytesIn: number // client bytes written to the backend (never the PROXY header we send)
  bytesOut: number // bytes read from the backend (towards clients)
  failStreak: number // consecutive connect failures, and observed failed answers (passive health)
  observedOk: number // observe http-connect: 2xx answers seen
  observedFailed: number // observe http-connect: 5xx (407 when configured) answers and answer timeouts
}

export interface BackendRuntime extends PickerBackend {
  readonly pool: string
  readonly host: string
  readonly port: number
  readonly sendProxy: SendProxy
  readonly backup: boolean
  readonly state: BackendState
  readonly load: BackendLoad
  readonly stats: BackendCounters
  /** observe http-connect: this worker's answers over pools[].observe-window (load.successRate is its estimate); null when not observing. */
  readonly answers: SuccessWindow | null
}

export function newCounters(): BackendCounters {
  return { total: 0, connectFailures: 0, bytesIn: 0, bytesOut: 0, failStreak: 0, observedOk: 0, observedFailed: 0 }
}

export function newLoad(): BackendLoad {
  return { active: 0, latencyEwmaMs: 0, successRate: 1, answerEwmaMs: 0 }
}

export function backendRuntime(
  pool: string,
  cfg: BackendConfig,
  state: BackendState,
  weight: number,
  load: BackendLoad,
  stats: BackendCounters,
  answers: SuccessWindow | null = null,
): BackendRuntime {
  return {
    pool,
    id: cfg.id,
    host: cfg.host,
    port: cfg.port,
    sendProxy: cfg.sendProxy,
    backup: cfg.backup,
    maxconn: cfg.maxconn,
    weight,
    state,
    load,
    stats,
    answers,
  }
}

/** Connect latency EWMA, alpha 0.2: recent connects dominate, one outlier does not. */
export function recordLatency(load: BackendLoad, ms: number): void {
  load.latencyEwmaMs = load.latencyEwmaMs === 0 ? ms : load.latencyEwmaMs * 0.8 + ms * 0.2
}

/** CONNECT-answer latency EWMA (observe http-connect, 2xx answers only), alpha 0.2 as for connects. */
export function recordAnswer(load: BackendLoad, ms: number): void {
  const prev = load.answerEwmaMs ?? 0
  load.answerEwmaMs = prev === 0 ? ms : prev * 0.8 + ms * 0.2
}
