// The primary: owns the configuration, the one health checker of the
// machine, operator overrides and the admin API; decides backend states and
// publishes them as whole versioned snapshots to every worker. It carries no
// client traffic itself.
import type { Logger } from 'pino'
import { loadConfigFileOffThread } from '../config/load-thread.ts'
import { formatErrors } from '../config/format.ts'
import type { Config } from '../config/types.ts'
import { HealthChecker } from '../health/checker.ts'
import type { AdminState, BackendHealth } from '../health/types.ts'
import { child } from '../log.ts'
import { type Decision, decide, key, sameDecision } from './decide.ts'
import { type HealthSnapshot } from './snapshot.ts'
import { resolveEphemeralPorts } from './ports.ts'
import { WorkerSet } from './workers.ts'

/** Health changes within this window are published as one snapshot (ms). */
export const PUBLISH_BATCH_MS = 50

export interface PrimaryOptions {
  readonly config: Config
  readonly configPath: string | null // null: built-in config (demo); reload re-applies it
  readonly log?: Logger
}

export class Primary {
  config: Config
  readonly configPath: string | null
  readonly startedAt = Date.now()
  loadedAt = Date.now()
  lastReloadError: { at: number; errors: string[] } | null = null
  reloadsOk = 0
  reloadsFailed = 0
  readonly log: Logger
  readonly workers: WorkerSet
  readonly health: HealthChecker
  readonly states = new Map<string, AdminState>()
  readonly weights = new Map<string, number>()
  listenerPorts = new Map<string, number>()
  private snap: HealthSnapshot
  private version = 0
  private generation = 0
  private slowstartTimer: NodeJS.Timeout | null = null
  private publishTimer: NodeJS.Timeout | null = null
  private readyWaiters: (() => void)[] = []

  constructor(opts: PrimaryOptions) {
    this.config = opts.config
    this.configPath = opts.configPath
    this.log = opts.log ?? child('primary')
    this.health = new HealthChecker({ pools: this.config.pools, onChange: (c) => {
      const level = c.from === 'unknown' && c.to === 'up' ? 'info' : 'warn'
      this.log[level]({ pool: c.pool, backend: c.id, change: c.kind, from: c.from, to: c.to, detail: c.detail }, 'backend health changed')
      this.publishSoon()
    } })
    this.snap = this.decide().snapshot
    this.workers = new WorkerSet({
      log: this.log,
      current: () => ({ config: this.config, snapshot: this.snap }),
      onPassive: (pool, id, ok) => this.health.reportPassive(pool, id, ok),
      onConfigApplied: (slot, gen, error) => {
        if (error !== null) this.log.error({ slot, generation: gen, err: error }, 'worker failed to apply config')
      },
      onReady: (_slot, listeners) => {
        for (const l of listeners) this.listenerPorts.set(l.name, l.port)
        if (this.workers.allReady()) for (const w of this.readyWaiters.splice(0)) w()
      },
    })
  }

  get snapshot(): HealthSnapshot {
    return this.snap
  }

  /** Fork the workers and start checking; resolves when every worker listens. */
  async start(): Promise<void> {
    this.config = await resolveEphemeralPorts(this.config)
    const ready = new Promise<void>((r) => this.readyWaiters.push(r))
    this.workers.resize(this.config.workers)
    this.health.start()
    await ready
  }

  /**
   * Publish within PUBLISH_BATCH_MS: health changes come in bursts (thousands
   * when a fleet starts or a switch fails), and each publish costs every
   * worker a picker rebuild, so a burst becomes one snapshot instead of one
   * per backend.
   */
  publishSoon(): void {
    if (this.publishTimer !== null) return
    this.publishTimer = setTimeout(() => {
      this.publishTimer = null
      this.publish()
    }, PUBLISH_BATCH_MS)
    this.publishTimer.unref()
  }

  /** Recompute the decision; publish a new version only when something changed. */
  publish(): void {
    if (this.publishTimer !== null) {
      clearTimeout(this.publishTimer)
      this.publishTimer = null
    }
    const d = this.decide()
    this.scheduleSlowstart(d)
    if (sameDecision(this.snap, d.snapshot)) return
    this.snap = d.snapshot
    this.workers.broadcast({ type: 'snapshot', snapshot: this.snap })
  }

  healthTable(): Map<string, BackendHealth> {
    return new Map(this.health.table().map((h) => [key(h.pool, h.id), h]))
  }

  /**
   * Re-read the config file and apply it if valid. An invalid one changes
   * nothing: the running config keeps serving and the error is kept for /status.
   */
  async reload(): Promise<{ ok: true } | { ok: false; errors: string[] }> {
    const result = this.configPath === null ? { ok: true as const, config: this.config } : await loadConfigFileOffThread(this.configPath)
    if (!result.ok) {
      const errors = formatErrors(result.errors).split('\n').filter(Boolean)
      this.lastReloadError = { at: Date.now(), errors }
      this.reloadsFailed++
      this.log.error({ code: 'LB_ERR_RELOAD_REJECTED', errors }, 'reload rejected; the running config keeps serving')
      return { ok: false, errors }
    }
    // SIGTERM may have come while the file was parsed: a stopping primary forks no worker.
    if (this.workers.stopping) return { ok: false, errors: ['shutting down: reload not applied'] }
    const next = await resolveEphemeralPorts(result.config, this.config)
    this.config = next
    this.loadedAt = Date.now()
    this.lastReloadError = null
    this.reloadsOk++
    const kept = new Set(next.pools.flatMap((p) => p.backends.map((b) => key(p.name, b.id)))) // not a scan per override
    for (const k of [...this.states.keys(), ...this.weights.keys()]) {
      if (!kept.has(k)) {
        this.states.delete(k)
        this.weights.delete(k)
      }
    }
    this.health.update(next.pools)
    this.generation++
    this.workers.broadcast({ type: 'config', config: next, generation: this.generation })
    this.workers.resize(next.workers)
    this.publish()
    this.log.info({ generation: this.generation }, 'config reloaded')
    return { ok: true }
  }

  /** Stop checks, drain workers (up to the drain deadline), resolve when they are gone. */
  async shutdown(): Promise<void> {
    this.health.stop()
    if (this.slowstartTimer) clearTimeout(this.slowstartTimer)
    if (this.publishTimer) clearTimeout(this.publishTimer)
    await this.workers.shutdown(this.config.shutdown.drainMs)
  }

  /** Second signal: no more waiting. */
  killNow(): void {
    this.health.stop()
    this.workers.killAll()
  }

  private decide(): Decision {
    return decide(this.config, this.healthTable(), { states: this.states, weights: this.weights }, ++this.version, Date.now())
  }

  private scheduleSlowstart(d: Decision): void {
    if (this.slowstartTimer) clearTimeout(this.slowstartTimer)
    this.slowstartTimer = null
    if (d.nextChangeAt === null) return
    // Ramp in steps of at least 250 ms: enough resolution, few rebuilds.
    const wait = Math.max(250, d.nextChangeAt - Date.now())
    this.slowstartTimer = setTimeout(() => this.publish(), wait)
    this.slowstartTimer.unref()
  }
}
