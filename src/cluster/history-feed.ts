// What the primary feeds its History (src/history/recorder.ts): the effective
// states it just decided, with the operator's states and the last checks, and
// each configured backend's counters summed over the workers.
import type { SampleRow } from '../history/recorder.ts'
import { backendKey as key } from '../config/backend-key.ts'
import type { Primary } from './primary.ts'
import type { HealthSnapshot } from '../health/snapshot.ts'

/** Record the decision `snap` (and pending health changes) in primary.history. */
export function settleHistory(primary: Primary, snap: HealthSnapshot): void {
  const health = primary.healthTable()
  const states = snap.pools.flatMap((p) => p.backends.map((b) => ({ pool: p.name, id: b.id, state: b.state, admin: primary.states.get(key(p.name, b.id)) ?? 'ready' })))
  primary.history.settle(states, (pool, id) => health.get(key(pool, id))?.check.result ?? null)
}

/** Every configured backend with its connection total and open connections, all workers. */
export function sampleRows(primary: Primary): SampleRow[] {
  const totals = new Map(primary.workers.totals().backends.map((b) => [key(b.pool, b.id), b]))
  return primary.config.pools.flatMap((p) =>
    p.backends.map((b) => {
      const s = totals.get(key(p.name, b.id))
      return { pool: p.name, id: b.id, total: s?.total ?? 0, active: s?.active ?? 0 }
    }),
  )
}
