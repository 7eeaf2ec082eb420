// A worker's view of one pool: its backends' runtime records and the picker
// built from the latest health snapshot. `apply` runs when the config or the
// snapshot changes (off the hot path); `pick` is what a connection calls.
import type { BackendLoad, Picker } from '../balancer/picker.ts'
import { createPoolPicker } from '../balancer/pool-picker.ts'
import type { PoolConfig } from '../config/types.ts'
import type { PoolSnapshot } from '../cluster/snapshot.ts'
import { type BackendCounters, type BackendRuntime, backendRuntime, newCounters, newLoad } from './backend-runtime.ts'

const NOBODY: Picker<BackendRuntime> = { name: 'none', pick: () => undefined }

export class PoolRuntime {
  config: PoolConfig
  picker: Picker<BackendRuntime> = NOBODY
  backends: readonly BackendRuntime[] = []
  readonly poolLoad: BackendLoad = newLoad()
  // Counters by backend id; kept while the id stays in the pool.
  private readonly counters = new Map<string, { load: BackendLoad; stats: BackendCounters }>()

  constructor(config: PoolConfig) {
    this.config = config
  }

  /** Rebuild backends and picker from a config and a snapshot of this pool (or none: all ready). */
  apply(config: PoolConfig, snapshot: PoolSnapshot | undefined): void {
    this.config = config
    const states = new Map(snapshot?.backends.map((b) => [b.id, b]) ?? [])
    const ids = new Set(config.backends.map((b) => b.id))
    for (const id of this.counters.keys()) {
      // A removed backend's counters go once its connections are gone.
      if (!ids.has(id) && this.counters.get(id)!.load.active === 0) this.counters.delete(id)
    }
    const list: BackendRuntime[] = []
    for (const cfg of config.backends) {
      let c = this.counters.get(cfg.id)
      if (!c) this.counters.set(cfg.id, (c = { load: newLoad(), stats: newCounters() }))
      const snap = states.get(cfg.id)
      list.push(backendRuntime(config.name, cfg, snap?.state ?? 'ready', snap?.weight ?? cfg.weight, c.load, c.stats))
    }
    this.backends = list
    const eligible = list.filter((b) => b.state === 'ready' && b.weight > 0)
    this.picker = createPoolPicker(
      config.policy,
      eligible.filter((b) => !b.backup),
      eligible.filter((b) => b.backup),
      {
        tableSize: config.maglevTableSize,
        balanceFactor: config.balanceFactor,
        p2cLatency: config.p2cLatency,
        random: Math.random,
        poolLoad: this.poolLoad,
      },
    )
  }

  /** True when at least one backend may take a new flow (for /healthz). */
  canServe(): boolean {
    return this.backends.some((b) => b.state === 'ready' && b.weight > 0)
  }

  /** Counters of every backend this pool has carried, including removed ones still draining. */
  allCounters(): ReadonlyMap<string, { load: BackendLoad; stats: BackendCounters }> {
    return this.counters
  }
}
