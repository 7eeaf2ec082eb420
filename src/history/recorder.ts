// The primary's bounded memory of recent events, for the status page:
// - every SAMPLE_INTERVAL_MS, each configured backend's connection total and
//   open connections (summed over workers) become one sample: new
//   connections/s over the interval (total delta / time delta) and active;
//   SAMPLES_KEPT samples per backend, one shared list of sample times;
// - every health change the checker reports (noteHealth) and every change of
//   a backend's effective state the primary publishes (settle) becomes a
//   timeline event with its reason and the backend's last check; EVENTS_KEPT
//   events in all.
// Memory is bounded: backends × SAMPLES_KEPT × 2 doubles plus EVENTS_KEPT
// events. A backend a reload removes loses its series at the next sample;
// one it adds starts with nulls so indexes stay aligned with sampleTimes.
import type { AdminState, BackendState, HealthChange, ProbeResult } from '../health/types.ts'
import { NumberRing, Ring } from './ring.ts'
import { EVENTS_KEPT, type HistoryDoc, SAMPLE_INTERVAL_MS, SAMPLES_KEPT, type TimelineEvent } from './types.ts'

/** A configured backend's counters now: `total` connections since start (monotonic), `active` open now. */
export interface SampleRow {
  readonly pool: string
  readonly id: string
  readonly total: number
  readonly active: number
}

/** A backend's effective state as just decided, and what the operator set. */
export interface StateRow {
  readonly pool: string
  readonly id: string
  readonly state: BackendState
  readonly admin: AdminState
}

export interface HistoryOptions {
  readonly intervalMs?: number // default SAMPLE_INTERVAL_MS
  readonly samples?: number // default SAMPLES_KEPT
  readonly events?: number // default EVENTS_KEPT
  readonly now?: () => number // epoch ms; default Date.now
}

interface Series {
  readonly pool: string
  readonly id: string
  readonly rate: NumberRing
  readonly active: NumberRing
  lastTotal: number // NaN before the first sample
  lastAt: number
}

const keyOf = (pool: string, id: string): string => `${pool}\u0000${id}`
const round2 = (v: number): number => Math.round(v * 100) / 100

export class History {
  readonly intervalMs: number
  readonly #samples: number
  readonly #now: () => number
  readonly #times: NumberRing
  readonly #series = new Map<string, Series>()
  readonly #events: Ring<TimelineEvent>
  #pending: HealthChange[] = []
  readonly #lastHealth = new Map<string, HealthChange>()
  #states = new Map<string, StateRow>()
  #timer: NodeJS.Timeout | null = null

  constructor(opts: HistoryOptions = {}) {
    this.intervalMs = opts.intervalMs ?? SAMPLE_INTERVAL_MS
    this.#samples = opts.samples ?? SAMPLES_KEPT
    this.#now = opts.now ?? Date.now
    this.#times = new NumberRing(this.#samples)
    this.#events = new Ring(opts.events ?? EVENTS_KEPT)
  }

  /** Take one sample of `rows` (every configured backend) now. */
  sample(rows: readonly SampleRow[]): void {
    const now = this.#now()
    this.#times.push(now)
    const seen = new Set<string>()
    for (const r of rows) {
      const k = keyOf(r.pool, r.id)
      if (seen.has(k)) continue
      seen.add(k)
      let s = this.#series.get(k)
      if (s === undefined) {
        s = { pool: r.pool, id: r.id, rate: new NumberRing(this.#samples), active: new NumberRing(this.#samples), lastTotal: NaN, lastAt: now }
        s.rate.pad(this.#times.size - 1)
        s.active.pad(this.#times.size - 1)
        this.#series.set(k, s)
      }
      const dt = now - s.lastAt
      s.rate.push(Number.isNaN(s.lastTotal) || dt <= 0 ? NaN : round2((Math.max(0, r.total - s.lastTotal) * 1000) / dt))
      s.active.push(r.active)
      s.lastTotal = r.total
      s.lastAt = now
    }
    for (const k of this.#series.keys()) if (!seen.has(k)) this.#series.delete(k)
  }

  /** A health change from the checker; recorded at the next settle(), with the check result of then. */
  noteHealth(change: HealthChange): void {
    this.#pending.push(change)
  }

  /**
   * Record pending health changes and every effective-state change since the
   * last call. `states`: every configured backend as just decided. The first
   * call (and a backend's first appearance) only sets the baseline.
   * `checkOf` returns the backend's last active check, or null.
   */
  settle(states: readonly StateRow[], checkOf: (pool: string, id: string) => ProbeResult | null): void {
    const batch = new Map<string, HealthChange>()
    for (const c of this.#pending) {
      const k = keyOf(c.pool, c.id)
      batch.set(k, c)
      this.#lastHealth.set(k, c)
      this.#events.push({
        at: c.at,
        pool: c.pool,
        backend: c.id,
        what: 'health',
        from: c.kind === 'uneject' ? 'ejected' : c.from,
        to: c.kind === 'eject' ? 'ejected' : c.to,
        reason: c.detail,
        check: checkOf(c.pool, c.id),
      })
    }
    this.#pending = []
    const now = this.#now()
    const next = new Map<string, StateRow>()
    for (const s of states) {
      const k = keyOf(s.pool, s.id)
      next.set(k, s)
      const prev = this.#states.get(k)
      if (prev === undefined || prev.state === s.state) continue
      this.#events.push({ at: now, pool: s.pool, backend: s.id, what: 'state', from: prev.state, to: s.state, reason: this.#reason(k, prev, s, batch), check: checkOf(s.pool, s.id) })
    }
    this.#states = next
    for (const k of this.#lastHealth.keys()) if (!next.has(k)) this.#lastHealth.delete(k)
  }

  #reason(k: string, prev: StateRow, s: StateRow, batch: ReadonlyMap<string, HealthChange>): string {
    if (prev.admin !== s.admin) return `operator: ${s.admin}`
    const h = batch.get(k) ?? this.#lastHealth.get(k)
    if (h !== undefined) return h.kind === 'up' || h.kind === 'down' ? `health ${h.to}: ${h.detail}` : h.detail
    return 'decided by the primary'
  }

  /** Sample `rows()` now and every intervalMs (timer unref'd) until stop(). */
  start(rows: () => readonly SampleRow[]): void {
    if (this.#timer !== null) return
    this.sample(rows())
    this.#timer = setInterval(() => this.sample(rows()), this.intervalMs)
    this.#timer.unref()
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }

  doc(): HistoryDoc {
    return {
      intervalMs: this.intervalMs,
      samplesKept: this.#samples,
      eventsKept: this.#events.capacity,
      sampleTimes: this.#times.toArray().filter((t): t is number => t !== null),
      backends: [...this.#series.values()].map((s) => ({ pool: s.pool, id: s.id, connRate: s.rate.toArray(), active: s.active.toArray() })),
      events: this.#events.toArray(),
    }
  }
}
