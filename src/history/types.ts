// The primary's recent history for the status page (GET /history): per-backend
// series of new connections/s and active connections, and a health timeline.
// Plain JSON (no Dates, no Maps), like every admin document.
import type { ProbeResult } from '../health/types.ts'

/** One sample every SAMPLE_INTERVAL_MS, in ms. */
export const SAMPLE_INTERVAL_MS = 2000
/** Samples kept per backend: 150 × 2 s = the last 5 minutes. */
export const SAMPLES_KEPT = 150
/** Timeline events kept, all backends together (oldest dropped first). */
export const EVENTS_KEPT = 500

export interface BackendSeries {
  readonly pool: string
  readonly id: string
  /**
   * New connections per second over each sample interval, oldest first, aligned
   * with HistoryDoc.sampleTimes; null where the backend was not sampled yet (its
   * first sample, or it was added by a reload after that point).
   */
  readonly connRate: readonly (number | null)[]
  /** Open connections at each sample time, all workers; null as above. */
  readonly active: readonly (number | null)[]
}

/**
 * One timeline entry. `what: 'health'`: the checks' verdict changed (`from`/`to`
 * are up, down, unknown, or `ejected` for a passive ejection and its end).
 * `what: 'state'`: the effective state changed (ready, drain, maint, down).
 */
export interface TimelineEvent {
  readonly at: number // epoch ms
  readonly pool: string
  readonly backend: string
  readonly what: 'health' | 'state'
  readonly from: string
  readonly to: string
  /** Why: the probe's detail ("L4CON ECONNREFUSED"), the passive reason, or "operator: drain". */
  readonly reason: string
  /** The backend's last active check when the change was recorded; null before any (or checks off). */
  readonly check: ProbeResult | null
}

export interface HistoryDoc {
  readonly intervalMs: number // SAMPLE_INTERVAL_MS
  readonly samplesKept: number // SAMPLES_KEPT
  readonly eventsKept: number // EVENTS_KEPT
  /** Epoch ms of each kept sample, oldest first (at most samplesKept). */
  readonly sampleTimes: readonly number[]
  readonly backends: readonly BackendSeries[]
  /** Oldest first, at most eventsKept. */
  readonly events: readonly TimelineEvent[]
}
