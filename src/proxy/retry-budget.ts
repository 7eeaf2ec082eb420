// Envoy's retry budget (envoy.config.cluster.v3.CircuitBreakers.Thresholds.
// RetryBudget: `budget_percent`, `min_retry_concurrency`), at L4: the retries
// a pool may have in flight at once are capped at
//   max(min_retry_concurrency, floor(budget_percent × (active + queued) / 100))
// where `active` counts the pool's connections holding a backend (connecting
// or open) and `queued` its clients waiting for a slot (Envoy's active plus
// pending requests). A retry is "in flight" from the moment a failed connect
// is retried on another backend until that attempt connects, fails or its
// client leaves. So when a whole fleet fails, clients fail after one try
// instead of multiplying the load by `retries` + 1; a healthy pool with an
// odd failed connect still retries (the floor).
//
// Per worker: each worker counts its own connections and retries (as each
// Envoy worker thread would without the shared circuit-breaker counters).
import type { RetryBudgetConfig } from '../config/types.ts'

/** The concurrent-retry cap for a pool with `active` connections and `queued` waiting clients. */
export function retryCap(budget: RetryBudgetConfig, active: number, queued: number): number {
  return Math.max(budget.minRetryConcurrency, Math.floor((budget.budgetPercent * (active + queued)) / 100))
}

/** The retry state of one pool in one worker: who holds a retry token, and the counters. */
export class RetryBudget<S> {
  /** Sessions whose current connect attempt is a retry under a budget (the in-flight count is its size). */
  readonly inFlight = new Set<S>()
  retries = 0 // retries started, with or without a budget
  overflows = 0 // failed connects not retried because the budget was spent

  /**
   * May `s` retry now? Without a budget always (counted); with one, only
   * under the cap, and then `s` holds a token until release(s).
   */
  admit(s: S, budget: RetryBudgetConfig | null, active: number, queued: number): boolean {
    if (budget !== null) {
      if (this.inFlight.size >= retryCap(budget, active, queued)) {
        this.overflows++
        return false
      }
      this.inFlight.add(s)
    }
    this.retries++
    return true
  }

  /** The attempt of `s` ended (connected, failed, or its client left); no-op when it held no token. */
  release(s: S): void {
    this.inFlight.delete(s)
  }
}
