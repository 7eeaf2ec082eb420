// Health vocabulary shared by the checker (primary), snapshots and the admin API.
import type { BackendConfig, HealthConfig } from '../config/types.ts'
import type { AgentView } from './agent-poller.ts'

/** Operator-set state of a backend (admin API, config). */
export type AdminState = 'ready' | 'drain' | 'maint'

/** What the health checks concluded. `unknown` before the first verdict (treated as up). */
export type HealthVerdict = 'up' | 'down' | 'unknown'

/**
 * Effective state, documented in docs/backend-states.md:
 * - ready: takes new flows
 * - drain: keeps established flows, takes no new ones (operator)
 * - maint: takes nothing new, hidden from checks' verdicts (operator)
 * - down:  health checks (active or passive ejection) say it cannot serve
 */
export type BackendState = 'ready' | 'drain' | 'maint' | 'down'

export interface ProbeResult {
  readonly ok: boolean
  readonly durationMs: number
  readonly detail: string // "L4OK", "connect ECONNREFUSED", "HTTP 503", "timeout" ...
}

/** Latest check outcome for /status. */
export interface CheckStatus {
  readonly result: ProbeResult | null
  readonly at: number | null // epoch ms of the last check
}

/**
 * What the data path does when it connects to a backend and a probe must do the
 * same (the PROXY version comes from the backend's own `sendProxy`).
 * connectMs: `timeouts.connect`, the longest a client connection waits for the
 * backend's TCP handshake; a probe's connect phase never waits longer.
 */
export interface DataPathSettings {
  readonly connectMs: number
}

/**
 * A health probe: dial `backend` once and judge it by `health` (type-specific),
 * speaking what the data path speaks to that backend (its PROXY version;
 * `dataPath.connectMs` bounds the connect phase, L4TOUT past it).
 * Contract: resolves within `health.timeoutMs` (hard timeout), never rejects,
 * destroys its socket in every case. An aborted `signal` ends it at once with
 * `{ ok: false, detail: 'aborted' }`.
 */
export type ProbeFn = (
  backend: BackendConfig,
  health: HealthConfig,
  signal?: AbortSignal,
  dataPath?: DataPathSettings,
) => Promise<ProbeResult>

/** One row of HealthChecker.table(), for snapshots and /status. */
export interface BackendHealth {
  readonly pool: string
  readonly id: string
  readonly verdict: HealthVerdict
  /** Passive ejection: epoch ms when the backend returns, null when not ejected. */
  readonly ejectedUntil: number | null
  readonly check: CheckStatus
  /** Epoch ms of the last verdict change, ejection or un-ejection (creation time at first). */
  readonly changedAt: number
  /** Times passively ejected since the backend was first seen. */
  readonly ejections: number
  /**
   * Epoch ms when the backend last came back into service (down -> up, or
   * un-ejected while up); null if it never left. Feed to slowstart.effectiveWeight.
   */
  readonly slowstartSince: number | null
  /** What the backend's agent said (agent-poller.ts); null when it has no agent. */
  readonly agent: AgentView | null
}

/** What changed, passed to HealthChecker's onChange. */
export type HealthChangeKind = 'up' | 'down' | 'eject' | 'uneject' | 'agent'

export interface HealthChange {
  readonly pool: string
  readonly id: string
  readonly kind: HealthChangeKind
  /** Verdict before and after (equal for eject/uneject). 'up' from 'unknown' is the first verdict. */
  readonly from: HealthVerdict
  readonly to: HealthVerdict
  readonly ejectedUntil: number | null
  readonly at: number
  /** Last probe detail ("L4CON ECONNREFUSED"), the passive reason or the agent's state ("agent: up drain 50%"). */
  readonly detail: string
}

/**
 * How a worker's connect to a backend ended, as passive ejection sees it:
 * `connected` (reported only after failures, to end their run), `error`
 * (refused, reset or another socket error before the handshake completed) or
 * `timeout` (no handshake within `timeouts.connect`).
 */
export type ConnectOutcome = 'connected' | 'error' | 'timeout'

/**
 * One passive-health event: made once by the session that saw the connect,
 * carried unchanged through listener, engine and IPC to the primary's
 * HealthChecker.reportPassive.
 */
export interface PassiveReport {
  readonly pool: string
  readonly id: string // backend id
  readonly outcome: ConnectOutcome
  /** A failure that was not a connect (observe http-connect): what the backend did, e.g. `CONNECT 503`; named by an ejection's detail. */
  readonly answer?: string
}
