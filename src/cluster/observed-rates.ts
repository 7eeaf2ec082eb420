// The primary's per-backend success rate over each pool's observe-window
// (observe http-connect), for /status, the status page and /metrics. Workers
// report cumulative counters (observedOk, observedFailed) and the primary
// sums them (workers.totals(), dead workers' included, so they never go
// back); every FEED_INTERVAL_MS the increase since the previous feed goes
// into the backend's SuccessWindow, so every worker's answers count. Each
// worker keeps its own window for its picker (pool-runtime.ts); this one is
// what people read.
import { SuccessWindow } from '../balancer/success-window.ts'
import { backendKey } from '../config/backend-key.ts'
import type { Config } from '../config/types.ts'
import type { WorkerStats } from '../metrics/worker-stats.ts'
// The view's shape is part of the /status document, so it lives there (admin may not import cluster back).
import type { ObservedWindow } from '../admin/model.ts'

/** How often the summed counters are fed into the windows (ms): twice per worker report would add nothing. */
export const FEED_INTERVAL_MS = 1000

/** One observing backend's cumulative answers, all workers, since the primary started. */
export interface AnswerRow {
  readonly pool: string
  readonly id: string
  readonly windowMs: number // its pool's observe-window
  readonly ok: number
  readonly failed: number
}

interface Entry {
  readonly window: SuccessWindow
  lastOk: number
  lastFailed: number
}

export class ObservedRates {
  readonly #windows = new Map<string, Entry>()
  readonly #now: () => number
  #timer: NodeJS.Timeout | null = null

  /** `now`: epoch ms (default Date.now), injectable for tests. */
  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  /**
   * Feed the cumulative counters of every observing backend. A backend seen
   * for the first time (or whose window length changed) starts from its
   * counters now: what it answered before is not put into this moment. One
   * missing from `rows` (removed, or its pool stopped observing) is forgotten.
   * A counter lower than last time (a backend removed and added again) starts over.
   */
  update(rows: readonly AnswerRow[]): void {
    const now = this.#now()
    const seen = new Set<string>()
    for (const r of rows) {
      const k = backendKey(r.pool, r.id)
      seen.add(k)
      const e = this.#windows.get(k)
      if (e === undefined || e.window.windowMs !== r.windowMs) {
        this.#windows.set(k, { window: new SuccessWindow(r.windowMs), lastOk: r.ok, lastFailed: r.failed })
        continue
      }
      const ok = r.ok - e.lastOk
      const failed = r.failed - e.lastFailed
      e.lastOk = r.ok
      e.lastFailed = r.failed
      if (ok < 0 || failed < 0) continue
      if (ok > 0 || failed > 0) e.window.add(now, ok, failed)
    }
    for (const k of this.#windows.keys()) if (!seen.has(k)) this.#windows.delete(k)
  }

  /** `pool`/`id`'s window now; null when it is not observed (its pool has observe none, or it is unknown). */
  view(pool: string, id: string): ObservedWindow | null {
    const e = this.#windows.get(backendKey(pool, id))
    if (e === undefined) return null
    const now = this.#now()
    const w = e.window
    return { windowMs: w.windowMs, ok: w.ok(now), failed: w.failed(now), successRatio: w.ratio(now) }
  }

  /** Feed `read()` now and every FEED_INTERVAL_MS until stop(). */
  start(read: () => AnswerRow[]): void {
    this.stop()
    this.update(read())
    this.#timer = setInterval(() => this.update(read()), FEED_INTERVAL_MS)
    this.#timer.unref()
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }
}

/** The rows ObservedRates wants: every backend of an observing pool in `config`, with its counters in `totals` (0 before any report). */
export function answerRows(config: Config, totals: WorkerStats): AnswerRow[] {
  const sums = new Map(totals.backends.map((b) => [backendKey(b.pool, b.id), b]))
  return config.pools.flatMap((p) =>
    p.observe !== 'http-connect'
      ? []
      : p.backends.map((b) => {
          const s = sums.get(backendKey(p.name, b.id))
          return { pool: p.name, id: b.id, windowMs: p.observeWindowMs, ok: s?.observedOk ?? 0, failed: s?.observedFailed ?? 0 }
        }),
  )
}
