// Versioned, immutable health snapshots: the primary decides backend states
// once per machine and publishes the WHOLE table; every worker builds its
// pickers from the same snapshot, so every worker picks alike. Workers drop a
// snapshot whose version is not newer than the one they hold.
import type { Config } from '../config/types.ts'
import { deepFreeze } from '../freeze.ts'
import type { BackendState } from './types.ts'

export interface BackendSnapshot {
  readonly id: string
  readonly state: BackendState
  readonly weight: number // effective weight (operator weight, slow start applied)
}

export interface PoolSnapshot {
  readonly name: string
  readonly backends: readonly BackendSnapshot[]
}

export interface HealthSnapshot {
  readonly version: number
  readonly pools: readonly PoolSnapshot[]
}

/** The snapshot a balancer uses before any health verdict: every backend ready at its weight. */
export function initialSnapshot(config: Config, version = 0): HealthSnapshot {
  return deepFreeze({
    version,
    pools: config.pools.map((p) => ({
      name: p.name,
      backends: p.backends.map((b) => ({ id: b.id, state: 'ready' as const, weight: b.weight })),
    })),
  })
}

/** Is `next` newer than `current`? Stale and duplicate snapshots are ignored. */
export function isNewer(current: HealthSnapshot | null, next: HealthSnapshot): boolean {
  return current === null || next.version > current.version
}
