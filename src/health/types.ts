// Health vocabulary shared by the checker (primary), snapshots and the admin API.

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
