// A worker's view of one pool: its backends' runtime records and the picker
// built from the latest health snapshot. `apply` runs when the config or the
// snapshot changes (off the hot path); `pick` is what a connection calls.
// Large tables are built on a thread (table-builder.ts) so a reload of
// thousands of backends never stalls the connections this worker carries.
import { isIP } from 'node:net'
import type { BackendLoad, Picker, PickerOptions } from '../balancer/picker.ts'
import { createPoolPicker } from '../balancer/pool-picker.ts'
import { SuccessWindow } from '../balancer/success-window.ts'
import { buildTablesOffThread } from '../balancer/table-builder.ts'
import { tableSpecs } from '../balancer/registry.ts'
import { isLarge, prebuiltTables } from '../balancer/tables.ts'
import type { PoolConfig } from '../config/types.ts'
import { takesNewFlows } from '../health/state.ts'
import type { PoolSnapshot } from '../health/snapshot.ts'
import { type BackendCounters, type BackendRuntime, backendRuntime, newCounters, newLoad } from './backend-runtime.ts'
import { RetryBudget } from './retry-budget.ts'
import { WaitQueue } from './wait-queue.ts'
import type { Session } from './session.ts'

/** A pool's queue counters in this worker (since the pool first appeared). */
export interface QueueCounters {
  dequeued: number // clients that left the queue for a backend
  waitMs: number // time waited by those and by the timed-out ones
  timeouts: number // reset after timeouts.queue (queue-timeout)
  refused: number // found the queue full: reset at once (no-backend)
  aborted: number // closed while waiting, with abort-on-close (client-closed-early)
}

const NOBODY: Picker<BackendRuntime> = { name: 'none', pick: () => undefined }

export class PoolRuntime {
  config: PoolConfig
  picker: Picker<BackendRuntime> = NOBODY
  backends: readonly BackendRuntime[] = []
  readonly poolLoad: BackendLoad = newLoad()
  /** Every backend is an IP literal: the native engine may connect them (it resolves no names). */
  nativeConnect = false
  /** Some backend wants a PROXY header. */
  sendsProxy = false
  /** Retries in flight and their counters (pools[].retry-budget; retry-budget.ts). */
  readonly retry = new RetryBudget<Session>()
  /** Clients waiting for a slot when every backend is at maxconn (pools[].max-queue; queueing.ts). */
  readonly queue = new WaitQueue<Session>()
  readonly queueCounters: QueueCounters = { dequeued: 0, waitMs: 0, timeouts: 0, refused: 0, aborted: 0 }
  // Counters by backend id; kept while the id stays in the pool.
  private readonly counters = new Map<string, { load: BackendLoad; stats: BackendCounters; answers: SuccessWindow | null }>()
  private slideAt = 0 // next time (coarse clock, ms) slideAnswers has work: a bucket of the window ends
  private inputs = '' // config + snapshot of the last apply, to skip rebuilds that change nothing
  private generation = 0
  private building = false
  private queued: (() => Promise<void>) | null = null
  private readonly waiters: (() => void)[] = []

  constructor(config: PoolConfig) {
    this.config = config
  }

  /**
   * Rebuild backends and picker from a config and a snapshot of this pool (or
   * none: all ready). Nothing is rebuilt when neither changed. A picker whose
   * tables are large is built off the event loop (tables.ts): the previous
   * picker keeps serving until it is ready; `settled()` says when. Only the
   * latest request is built: one arriving during a build replaces any queued one.
   */
  apply(config: PoolConfig, snapshot: PoolSnapshot | undefined): void {
    const inputs = JSON.stringify(config) + '\n' + JSON.stringify(snapshot?.backends ?? null)
    if (inputs === this.inputs) return
    this.inputs = inputs
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
      if (!c) this.counters.set(cfg.id, (c = { load: newLoad(), stats: newCounters(), answers: null }))
      observeWindow(c, config)
      const snap = states.get(cfg.id)
      list.push(backendRuntime(config.name, cfg, snap?.state ?? 'ready', snap?.weight ?? cfg.weight, c.load, c.stats, c.answers))
    }
    this.backends = list
    this.nativeConnect = config.backends.every((b) => isIP(b.host) !== 0)
    this.sendsProxy = config.backends.some((b) => b.sendProxy !== 'none')
    const taking = list.filter(takesNewFlows)
    const primaries = taking.filter((b) => !b.backup)
    const backups = taking.filter((b) => b.backup)
    const options: PickerOptions = {
      tableSize: config.maglevTableSize,
      balanceFactor: config.balanceFactor,
      p2cLatency: config.p2cLatency,
      weighBy: config.weighBy,
      random: Math.random,
      poolLoad: this.poolLoad,
    }
    const generation = ++this.generation
    const specs = tableSpecs(config.policy, [primaries, backups], config.maglevTableSize)
    if (!specs.some(isLarge)) {
      this.picker = createPoolPicker(config.policy, primaries, backups, options)
      this.queued = null
      this.settle()
      return
    }
    this.queued = async () => {
      const built = await buildTablesOffThread(specs)
      if (generation !== this.generation) return // a newer apply won meanwhile
      this.picker = createPoolPicker(config.policy, primaries, backups, { ...options, tables: prebuiltTables(specs, built) })
    }
    if (!this.building) void this.drain()
  }

  /** Resolves when the picker reflects the last apply (no table build pending). */
  settled(): Promise<void> {
    if (!this.building && this.queued === null) return Promise.resolve()
    return new Promise((r) => this.waiters.push(r))
  }

  private async drain(): Promise<void> {
    this.building = true
    while (this.queued !== null) {
      const job = this.queued
      this.queued = null
      await job()
    }
    this.building = false
    this.settle()
  }

  private settle(): void {
    if (this.building || this.queued !== null) return
    for (const w of this.waiters.splice(0)) w()
  }

  /**
   * Let each backend's success-rate estimate (load.successRate) follow its
   * window as time passes with no new answer (a proxy that lost every flow
   * gets them back as its failures age out). Called by the listeners' sweep
   * with the coarse clock (ms); O(1) until a bucket ends, then O(backends).
   */
  slideAnswers(now: number): void {
    if (now < this.slideAt || this.config.observe !== 'http-connect') return
    let bucketMs = Infinity
    for (const c of this.counters.values()) {
      if (c.answers === null) continue
      c.load.successRate = c.answers.estimate(now)
      bucketMs = c.answers.bucketMs
    }
    this.slideAt = bucketMs === Infinity ? now + 1000 : (Math.floor(now / bucketMs) + 1) * bucketMs
  }

  /** True when at least one backend of the pool takes new flows (for /healthz). */
  takesNewFlows(): boolean {
    return this.backends.some(takesNewFlows)
  }

  /** Counters of every backend this pool has carried, including removed ones still draining. */
  allCounters(): ReadonlyMap<string, { load: BackendLoad; stats: BackendCounters }> {
    return this.counters
  }
}

/** Give `c` a window of pools[].observe-window when `config` observes (a new one when its length changed), else none. */
function observeWindow(c: { load: BackendLoad; answers: SuccessWindow | null }, config: PoolConfig): void {
  if (config.observe !== 'http-connect') {
    c.answers = null
    c.load.successRate = 1
  } else if (c.answers?.windowMs !== config.observeWindowMs) {
    c.answers = new SuccessWindow(config.observeWindowMs)
    c.load.successRate = 1
  }
}
