// The primary's decision, pure: config × health table × operator overrides ×
// time → the backend states and effective weights every worker will use.
// Same inputs, same snapshot, which is what lets all workers pick alike.
import { isHashing } from '../balancer/policies.ts'
import { backendKey } from '../config/backend-key.ts'
import type { Config } from '../config/types.ts'
import { effectiveWeight, nextWeightChangeAt } from '../health/slowstart.ts'
import { effectiveState, takesNewFlows } from '../health/state.ts'
import type { AdminState, BackendHealth, BackendState } from '../health/types.ts'
import type { HealthSnapshot } from '../health/snapshot.ts'
import { deepFreeze } from '../freeze.ts'
import { agentWeight } from '../health/agent-line.ts'

/** Operator overrides by `pool/id`; absent = from the config. */
export interface Overrides {
  readonly states: ReadonlyMap<string, AdminState>
  readonly weights: ReadonlyMap<string, number>
}


export interface Decision {
  readonly snapshot: HealthSnapshot
  /** When a slow-start ramp next changes a weight (republish then), or null. */
  readonly nextChangeAt: number | null
}

export function decide(
  config: Config,
  health: ReadonlyMap<string, BackendHealth>,
  overrides: Overrides,
  version: number,
  now: number,
): Decision {
  let nextChangeAt: number | null = null
  const pools = config.pools.map((p) => {
    const rows = p.backends.map((b) => {
      const k = backendKey(p.name, b.id)
      const h = health.get(k)
      // The agent (HAProxy agent-check) is one more input: its drain/maint adds to the
      // operator's (the stronger wins), its down to the checks', its N% scales the weight.
      const agent = h?.agent ?? null
      const admin = stronger(overrides.states.get(k) ?? 'ready', agent?.admin ?? 'ready')
      const verdict = agent?.down === true ? 'down' : (h?.verdict ?? 'unknown')
      const ejected = h?.ejectedUntil != null && h.ejectedUntil > now
      const weight = agentWeight(overrides.weights.get(k) ?? b.weight, agent?.percent ?? null)
      // Hashing policies (the `hashing` trait of src/balancer/policies.ts) do not ramp:
      // every weight step would rebuild the table and move keys again and again; the
      // returning backend takes its keys back at once, and balance-factor (bounded
      // load) keeps it from being overloaded meanwhile.
      const since = isHashing(p.policy) ? null : (h?.slowstartSince ?? null)
      const at = nextWeightChangeAt(weight, since, p.slowstartMs, now)
      if (at !== null && (nextChangeAt === null || at < nextChangeAt)) nextChangeAt = at
      return {
        id: b.id,
        state: effectiveState(admin, verdict, ejected),
        weight: effectiveWeight(weight, since, p.slowstartMs, now),
        // What the state would be without the passive ejection.
        unejected: ejected ? effectiveState(admin, verdict, false) : null,
      }
    })
    return { name: p.name, backends: liftEjections(rows) }
  })
  return { snapshot: deepFreeze({ version, pools }), nextChangeAt }
}

const ADMIN_RANK: Readonly<Record<AdminState, number>> = { ready: 0, drain: 1, maint: 2 }

/** maint over drain over ready: an agent cannot undo the operator's drain, nor the operator the agent's. */
function stronger(a: AdminState, b: AdminState): AdminState {
  return ADMIN_RANK[a] >= ADMIN_RANK[b] ? a : b
}

interface Row {
  readonly id: string
  readonly state: BackendState
  readonly weight: number
  readonly unejected: BackendState | null
}

/**
 * Passive ejection never empties a pool: when no backend of the pool (backups
 * included) can take a new flow, ejected backends that would otherwise be
 * `ready` are put back (Envoy's panic threshold, limited to ejections: a
 * backend the active checks call down, or the operator drained, stays out).
 * This catches what the checker's guards cannot see coming: the other backends
 * going down, drained or weighted 0 after the ejection.
 */
function liftEjections(rows: readonly Row[]): { id: string; state: BackendState; weight: number }[] {
  const anyTakesNewFlows = rows.some(takesNewFlows)
  return rows.map((r) => ({
    id: r.id,
    state: !anyTakesNewFlows && r.unejected !== null && takesNewFlows({ state: r.unejected, weight: r.weight }) ? r.unejected : r.state,
    weight: r.weight,
  }))
}

/** Do two snapshots say the same thing (ignoring version)? Avoids needless rebuilds in workers. */
export function sameDecision(a: HealthSnapshot, b: HealthSnapshot): boolean {
  return JSON.stringify(a.pools) === JSON.stringify(b.pools)
}
