// The per-process engine (a cluster worker runs one; tests run it in-process):
// its pools, listeners, snapshots, reload and shutdown (src/balancer/ holds the
// pickers it uses). It owns no health checks: it applies the snapshots it is
// given and reports what it sees.
import type { Logger } from 'pino'
import { backendKey } from '../config/backend-key.ts'
import type { Config } from '../config/types.ts'
import type { PassiveReport } from '../health/types.ts'
import { canonicalHost } from '../net/ip.ts'
import { type HealthSnapshot, initialSnapshot, isNewer } from '../health/snapshot.ts'
import type { BackendRuntime } from './backend-runtime.ts'
import { Clock } from './clock.ts'
import { Listener } from './listener.ts'
import { PoolRuntime } from './pool-runtime.ts'
import type { WorkerStats } from '../metrics/worker-stats.ts'
import { engineChoice, loadedPump, resolveEngine } from './engine-choice.ts'
import type { NativePump } from './native-engine.ts'
import { monoMs } from '../mono.ts'

export interface EngineOptions {
  readonly log: Logger
  /** How many processes share each listener (maxconn is split between them). */
  readonly workers?: number
  readonly clock?: Clock
  /** Passive-health events from every listener's sessions, passed on as they are. */
  readonly reportPassive?: (report: PassiveReport) => void
}

// Keyed by address, not spelling: a reload that only respells a bind keeps the listener.
const bindKey = (c: Config['listeners'][number]): string => `${canonicalHost(c.bind.host)}|${c.bind.port}`

export class Engine {
  config: Config
  snapshot: HealthSnapshot
  readonly pools = new Map<string, PoolRuntime>()
  readonly listeners = new Map<string, Listener>() // by bind key
  private readonly draining = new Set<Listener>() // removed by a reload, finishing their sessions
  private readonly clock: Clock
  private readonly hardStops = new Set<NodeJS.Timeout>()
  private staged: { config: Config; listeners: Map<string, Listener> } | null = null
  /** The engine new sessions use (config `engine`, or L4LB_ENGINE), resolved at start and on each reload. */
  engine: { readonly pump: NativePump | null; readonly engine: 'js' | 'native'; readonly note: string | null }

  private readonly opts: EngineOptions

  constructor(config: Config, opts: EngineOptions) {
    this.opts = opts
    this.config = config
    this.snapshot = initialSnapshot(config)
    this.clock = opts.clock ?? new Clock()
    this.engine = resolveEngine(engineChoice(config))
  }

  /** Bind every listener; rejects with the first BindError, after closing those it bound. */
  async start(): Promise<void> {
    this.applyPools()
    await this.settled() // every worker picks alike from its first accept
    for (const lc of this.config.listeners) {
      const l = this.newListener(lc, this.pools.get(lc.pool)!, this.config)
      try {
        await l.listen()
      } catch (err) {
        for (const x of this.listeners.values()) x.close()
        this.listeners.clear()
        throw err
      }
      this.listeners.set(bindKey(lc), l)
    }
  }

  /**
   * Resolves when every pool's picker reflects the last config and snapshot
   * applied (large tables are built off the event loop; see PoolRuntime).
   */
  async settled(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.settled()))
  }

  /** Apply a health snapshot; stale or duplicate versions are ignored. Returns whether applied. */
  applySnapshot(next: HealthSnapshot): boolean {
    if (!isNewer(this.snapshot, next)) return false
    this.snapshot = next
    this.applyPools()
    return true
  }

  /**
   * Apply a new, already validated config without cutting established
   * connections: new listeners open, removed ones stop accepting and drain,
   * pools rebuild, sessions on removed backends live at most hard-stop-after.
   * All or nothing: when a new listener cannot bind, it throws that BindError
   * and the running config is untouched (prepareConfig, then commitConfig).
   */
  async applyConfig(next: Config): Promise<void> {
    await this.prepareConfig(next)
    this.commitConfig(next)
  }

  /**
   * A reload's first phase: bind every listener address `next` adds, holding
   * (not serving) what they accept. Changes nothing else. Throws a BindError
   * naming the first listener that cannot bind, after closing those this call
   * bound. A previous prepared-but-uncommitted config is discarded first.
   */
  async prepareConfig(next: Config): Promise<void> {
    this.abortConfig()
    const staged = new Map<string, Listener>()
    try {
      for (const lc of next.listeners) {
        const key = bindKey(lc)
        if (this.listeners.has(key)) continue
        // A placeholder pool until commit: held connections use no pool.
        const l = this.newListener(lc, this.pools.get(lc.pool) ?? new PoolRuntime(next.pools.find((p) => p.name === lc.pool)!), next)
        staged.set(key, l)
        await l.listen(lc.bind.port, true)
      }
    } catch (err) {
      for (const l of staged.values()) l.close()
      throw err
    }
    this.staged = { config: next, listeners: staged }
  }

  /** Close what prepareConfig bound (the reload was rolled back); no-op when nothing is prepared. */
  abortConfig(): void {
    for (const l of this.staged?.listeners.values() ?? []) l.close()
    this.staged = null
  }

  /** A reload's second phase: switch to `next` (prepared by prepareConfig). Never fails on binds. */
  commitConfig(next: Config): void {
    const staged = this.staged?.config === next ? this.staged.listeners : new Map<string, Listener>()
    this.staged = null
    const prev = this.config
    this.config = next
    if (engineChoice(next) !== engineChoice(prev)) this.engine = resolveEngine(engineChoice(next))
    this.applyPools()
    const wanted = new Map(next.listeners.map((l) => [bindKey(l), l]))
    for (const [key, l] of this.listeners) {
      if (wanted.has(key)) continue
      this.listeners.delete(key)
      void l.stopAccepting()
      this.draining.add(l)
    }
    for (const [key, lc] of wanted) {
      const l = this.listeners.get(key) ?? staged.get(key)
      if (!l) throw new Error(`listener ${lc.name} was not prepared`)
      l.update(lc, this.pools.get(lc.pool)!, next.timeouts)
      if (!this.listeners.has(key)) {
        this.listeners.set(key, l)
        l.release()
      }
    }
    // A set, not a scan: this runs once per open session at the hard stop.
    const kept = new Set(next.pools.flatMap((p) => p.backends.map((x) => backendKey(p.name, x.id))))
    const stillThere = (b: BackendRuntime): boolean => kept.has(backendKey(b.pool, b.id))
    const draining = [...this.draining]
    this.hardStop(next.shutdown.hardStopAfterMs, () => {
      for (const l of this.allListeners()) l.killWhere((b) => !stillThere(b))
      for (const l of draining) l.killAll()
    })
    for (const p of prev.pools) if (!next.pools.some((q) => q.name === p.name)) this.pools.delete(p.name)
  }

  /** Stop accepting everywhere; resolve when all sessions are gone or `deadlineMs` passed (then kill). */
  async shutdown(deadlineMs: number): Promise<void> {
    for (const l of this.listeners.values()) await l.stopAccepting()
    const until = monoMs() + deadlineMs
    while (this.activeSessions() > 0 && monoMs() < until) await new Promise((r) => setTimeout(r, 25))
    for (const l of this.allListeners()) l.killAll()
    while (this.activeSessions() > 0 && monoMs() < until + 1000) await new Promise((r) => setTimeout(r, 10))
    for (const l of this.allListeners()) l.close()
    for (const t of this.hardStops) clearTimeout(t)
    this.hardStops.clear()
  }

  activeSessions(): number {
    let n = 0
    for (const l of this.allListeners()) n += l.active
    return n
  }

  /** Listening on every configured address, and some pool behind them can serve. */
  healthy(): boolean {
    for (const l of this.listeners.values()) if (!l.listening || !l.pool.takesNewFlows()) return false
    return this.listeners.size > 0
  }

  /**
   * This worker's counters now. On the native engine it also asks the pump
   * for a byte sample of its live sessions, which lands before the next
   * call: native sessions' bytes lag by one stats interval, never until their end.
   */
  stats(): WorkerStats {
    this.engine.pump?.sample()
    const backends = []
    for (const p of this.pools.values()) {
      for (const [id, c] of p.allCounters()) {
        // A backend that never carried a connection reports nothing (the primary reads it as zeros):
        // with thousands of backends, a report every 500 ms would otherwise be mostly zeros.
        const s = c.stats
        if (c.load.active === 0 && s.total === 0 && s.connectFailures === 0 && s.observedFailed === 0 && s.bytesIn === 0 && s.bytesOut === 0) continue
        backends.push({ pool: p.config.name, id, active: c.load.active, total: c.stats.total, connectFailures: c.stats.connectFailures, observedOk: c.stats.observedOk, observedFailed: c.stats.observedFailed, bytesIn: c.stats.bytesIn, bytesOut: c.stats.bytesOut })
      }
    }
    const listeners = [...this.allListeners()].map((l) => ({
      name: l.config.name,
      listening: l.listening,
      active: l.active,
      ...l.counters,
    }))
    const pools = [...this.pools.values()].map((p) => ({
      pool: p.config.name,
      retries: p.retry.retries,
      retryOverflows: p.retry.overflows,
      queued: p.queue.length,
      dequeued: p.queueCounters.dequeued,
      queueWaitMs: p.queueCounters.waitMs,
      queueTimeouts: p.queueCounters.timeouts,
      queueAborted: p.queueCounters.aborted,
      queueRefused: p.queueCounters.refused,
    }))
    const e = this.engine
    const pump = e.pump ?? loadedPump()
    const engine = { engine: e.engine, note: e.note, nativeSessions: pump?.owned ?? 0, handoffs: pump?.counters.adopted ?? 0, connects: pump?.counters.connects ?? 0, fallbacks: pump?.counters.fallbacks ?? 0, accepts: pump?.counters.accepted ?? 0, acceptBatches: pump?.counters.decides ?? 0 }
    return { backends, listeners, pools, engine }
  }

  listener(name: string): Listener | undefined {
    for (const l of this.listeners.values()) if (l.config.name === name) return l
    return undefined
  }

  private *allListeners(): Iterable<Listener> {
    yield* this.listeners.values()
    for (const l of this.draining) {
      if (l.active === 0) {
        l.close()
        this.draining.delete(l)
      } else yield l
    }
  }

  private applyPools(): void {
    const byName = new Map(this.snapshot.pools.map((s) => [s.name, s])) // not a find per pool: O(pools)
    for (const pc of this.config.pools) {
      let p = this.pools.get(pc.name)
      if (!p) this.pools.set(pc.name, (p = new PoolRuntime(pc)))
      p.apply(pc, byName.get(pc.name))
    }
  }

  private newListener(lc: Config['listeners'][number], pool: PoolRuntime, config: Config): Listener {
    const workers = this.opts.workers ?? 1
    return new Listener(lc, pool, config.timeouts, {
      clock: this.clock,
      log: this.opts.log,
      logConnections: () => this.config.log.connections,
      reportPassive: (report) => this.opts.reportPassive?.(report),
      pump: () => this.engine.pump,
      maxconnShare: (maxconn) => (maxconn === 0 ? 0 : Math.max(1, Math.ceil(maxconn / workers))),
    })
  }

  private hardStop(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.hardStops.delete(t)
      fn()
    }, ms)
    t.unref()
    this.hardStops.add(t)
  }
}

export { engineChoice } from './engine-choice.ts'
