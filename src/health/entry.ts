// The checker's per-backend record (mutable, owned by HealthChecker only) and
// its frozen public view, BackendHealth.
import type { BackendConfig, HealthConfig, PassiveConfig, PoolConfig } from '../config/types.ts'
import { isActiveCheck } from '../config/check-kinds.ts'
import { INITIAL, type DampenerState } from './dampener.ts'
import { PASSIVE_INITIAL, type PassiveState } from './passive.ts'
import type { BackendHealth, CheckStatus } from './types.ts'
import type { AgentView } from './agent-poller.ts'
import { backendKey } from '../config/backend-key.ts'

export interface Entry {
  readonly key: string
  readonly pool: string
  backend: BackendConfig
  health: HealthConfig
  passiveConfig: PassiveConfig
  damp: DampenerState
  passive: PassiveState
  check: CheckStatus
  changedAt: number
  slowstartSince: number | null
  inflight: AbortController | null
  removed: boolean
}

const NO_CHECK: CheckStatus = Object.freeze({ result: null, at: null })
/** The dampener state of a backend without active checks (type none). */
export const ALWAYS_UP: DampenerState = Object.freeze({ verdict: 'up', streak: 0 })

/** A backend seen for the first time: `unknown` (type none: `up`), no check yet. */
export function newEntry(backend: BackendConfig, pool: PoolConfig, now: number): Entry {
  return {
    key: backendKey(pool.name, backend.id),
    pool: pool.name,
    backend,
    health: pool.health,
    passiveConfig: pool.passive,
    damp: isActiveCheck(pool.health.type) ? INITIAL : ALWAYS_UP,
    passive: PASSIVE_INITIAL,
    check: NO_CHECK,
    changedAt: now,
    slowstartSince: null,
    inflight: null,
    removed: false,
  }
}

export function toRow(e: Entry, agent: AgentView | null): BackendHealth {
  return Object.freeze({
    pool: e.pool,
    id: e.backend.id,
    verdict: e.damp.verdict,
    ejectedUntil: e.passive.ejectedUntil,
    check: e.check,
    changedAt: e.changedAt,
    ejections: e.passive.ejections,
    slowstartSince: e.slowstartSince,
    agent,
  })
}
