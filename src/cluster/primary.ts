// The primary: owns the configuration, the one health checker of the
// machine, operator overrides and the admin API; decides backend states and
// publishes them as whole versioned snapshots to every worker. It carries no
// client traffic itself.
import type { Logger } from 'pino'
import { loadConfigFileOffThread } from '../config/load-thread.ts'
import { engineProblem } from '../proxy/engine-choice.ts'
import { formatErrors } from '../config/format.ts'
import { backendKey } from '../config/backend-key.ts'
import type { Config, ConfigResult } from '../config/types.ts'
import { HealthChecker } from '../health/checker.ts'
import type { AdminState, BackendHealth } from '../health/types.ts'
import type { FleetStatus } from '../admin/model.ts'
import { child, setLogLevel } from '../log.ts'
import { adminReloadProblem } from './admin-reload.ts'
import { type Decision, decide, sameDecision } from './decide.ts'
import { type HealthSnapshot } from '../health/snapshot.ts'
import { resolveEphemeralPorts } from './ports.ts'
import { AddressClaims } from './bind-claim.ts'
import { WorkerSet } from './workers.ts'
import { History } from '../history/recorder.ts'
import { sampleRows, settleHistory } from './history-feed.ts'
import { answerRows, ObservedRates } from './observed-rates.ts'
import { CODES } from '../errors.ts'

/** Health changes within this window are published as one snapshot (ms). */
export const PUBLISH_BATCH_MS = 50

export interface PrimaryOptions {
  readonly config: Config
  readonly configPath: string | null // null: built-in config (demo); reload re-applies it
  readonly log?: Logger
  /** Join listener addresses another l4lb holds (deliberate hand-over); see bind-claim.ts. */
  readonly handOver?: boolean
  /** What a reload reads; default: the file at configPath (a fleet node composes it with the store, src/fleet/). */
  readonly loadConfig?: () => Promise<ConfigResult>
  /** Called after each health change the checker reports (a fleet leader publishes it). */
  readonly onHealthChange?: () => void
}

/** Why start() failed: `code` is LB_ERR_LISTEN (an address could not be bound) or LB_ERR_WORKER_EXIT. */
export class StartError extends Error {
  readonly code: typeof CODES.LB_ERR_LISTEN | typeof CODES.LB_ERR_WORKER_EXIT
  constructor(code: StartError['code'], message: string) {
    super(message)
    this.name = 'StartError'
    this.code = code
  }
}

export type ReloadOutcome = { ok: true } | { ok: false; errors: string[] }

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
  /** Recent samples and state changes for the status page (bounded; src/history/). */
  readonly history = new History()
  /** Each observed backend's success rate over its pool's observe-window, all workers (observed-rates.ts). */
  readonly observed = new ObservedRates()
  /** This node in its fleet, for /status and /metrics; null when not in a fleet (set by src/fleet/). */
  fleetStatus: (() => FleetStatus) | null = null
  private readonly claims: AddressClaims
  private snap: HealthSnapshot
  private version = 0
  private generation = 0
  private slowstartTimer: NodeJS.Timeout | null = null
  private starting: { resolve: () => void; reject: (e: StartError) => void } | null = null
  private reloads: Promise<unknown> = Promise.resolve()
  private publishTimer: NodeJS.Timeout | null = null
  private readonly loadConfig: (() => Promise<ConfigResult>) | undefined

  constructor(opts: PrimaryOptions) {
    this.config = opts.config
    this.configPath = opts.configPath
    this.loadConfig = opts.loadConfig
    this.log = opts.log ?? child('primary')
    this.health = new HealthChecker({ pools: this.config.pools, dataPath: () => ({ connectMs: this.config.timeouts.connectMs }), onChange: (c) => {
      const level = (c.from === 'unknown' && c.to === 'up') || c.kind === 'agent' ? 'info' : 'warn' // an agent's word is news, not trouble
      this.log[level]({ pool: c.pool, backend: c.id, change: c.kind, from: c.from, to: c.to, detail: c.detail }, 'backend health changed')
      this.history.noteHealth(c)
      this.publishSoon()
      opts.onHealthChange?.()
    }, outOfService: (pool, id) => {
      const k = backendKey(pool, id)
      const admin = this.states.get(k)
      return admin === 'drain' || admin === 'maint' || this.weights.get(k) === 0
    } })
    this.snap = this.decide().snapshot
    settleHistory(this, this.snap)
    this.claims = new AddressClaims({ handOver: opts.handOver, log: this.log })
    this.workers = new WorkerSet({
      log: this.log,
      current: () => ({ config: this.config, snapshot: this.snap, generation: this.generation }),
      onPassive: (report) => this.health.reportPassive(report),
      onConfigApplied: (slot, gen, error) => {
        if (error !== null) this.log.error({ slot, generation: gen, err: error }, 'worker failed to apply config')
      },
      onReady: () => {
        if (this.starting !== null && this.workers.allReady()) this.starting.resolve()
      },
      onStartFailed: (_slot, reason, bindFailed) => {
        if (this.starting === null) return // a replacement after start: logged, retried with backoff
        this.workers.killAll() // now, so that no worker is replaced
        this.starting.reject(new StartError(bindFailed ? CODES.LB_ERR_LISTEN : CODES.LB_ERR_WORKER_EXIT, reason))
      },
    })
  }

  get snapshot(): HealthSnapshot {
    return this.snap
  }

  /**
   * Claim every listener address (bind-claim.ts), fork the workers and start
   * checking; resolves when every worker listens. Rejects with a BindError
   * (an address is taken, not local, or privileged; nothing was forked) or a
   * StartError (a worker could not listen or died before it did; the workers
   * are killed): the caller exits 1.
   */
  async start(): Promise<void> {
    this.config = await resolveEphemeralPorts(this.config)
    await this.claims.claim(this.config.listeners)
    const started = new Promise<void>((resolve, reject) => {
      this.starting = { resolve, reject }
    })
    this.workers.resize(this.config.workers)
    this.health.start()
    try {
      await started
    } catch (err) {
      this.health.stop()
      this.workers.killAll()
      this.claims.releaseAll()
      throw err
    } finally {
      this.starting = null
    }
    this.history.start(() => sampleRows(this))
    this.observed.start(() => answerRows(this.config, this.workers.totals()))
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
    settleHistory(this, d.snapshot)
    this.scheduleSlowstart(d)
    if (sameDecision(this.snap, d.snapshot)) return
    this.snap = d.snapshot
    this.workers.broadcast({ type: 'snapshot', snapshot: this.snap })
  }

  healthTable(): Map<string, BackendHealth> {
    return new Map(this.health.table().map((h) => [backendKey(h.pool, h.id), h]))
  }

  /**
   * Re-read the config file and apply it, all or nothing. Rejected, with every
   * reason, and nothing changed (the running config keeps serving, the error
   * is kept for /status and counted): an invalid file; a new listener address
   * that is taken, not local or privileged (checked here first); a worker that
   * cannot bind a new listener or dies before it did (two-phase: every worker
   * binds the new listeners, and only when all did do they switch; otherwise
   * they close them). Reloads run one at a time (SIGHUP and POST /reload).
   */
  reload(): Promise<ReloadOutcome> {
    const run = this.reloads.then(() => this.reloadNow())
    this.reloads = run.catch(() => {})
    return run
  }

  private rejectReload(errors: string[]): ReloadOutcome {
    this.lastReloadError = { at: Date.now(), errors }
    this.reloadsFailed++
    this.log.error({ code: CODES.LB_ERR_RELOAD_REJECTED, errors }, 'reload rejected; the running config keeps serving')
    return { ok: false, errors }
  }

  private async reloadNow(): Promise<ReloadOutcome> {
    const result = this.loadConfig !== undefined ? await this.loadConfig() : this.configPath === null ? { ok: true as const, config: this.config } : await loadConfigFileOffThread(this.configPath)
    if (!result.ok) return this.rejectReload(formatErrors(result.errors).split('\n').filter(Boolean))
    const adminProblem = adminReloadProblem(this.config.admin, result.config.admin)
    if (adminProblem !== null) return this.rejectReload([adminProblem])
    const engineProblemLine = engineProblem(result.config)
    if (engineProblemLine !== null) return this.rejectReload([engineProblemLine])
    // SIGTERM may have come while the file was parsed: a stopping primary forks no worker.
    if (this.workers.stopping) return { ok: false, errors: ['shutting down: reload not applied'] }
    const next = await resolveEphemeralPorts(result.config, this.config)
    let taken: string[]
    try {
      taken = await this.claims.claim(next.listeners)
    } catch (err) {
      return this.rejectReload([(err as Error).message])
    }
    const generation = this.generation + 1
    const failed = await this.workers.prepare(next, generation)
    if (failed !== null) {
      await this.workers.abort(generation)
      this.claims.release(taken)
      return this.rejectReload([failed])
    }
    this.generation = generation
    this.config = next
    setLogLevel(next.log.level) // the primary's own lines (health changes) too, not only the workers'
    this.loadedAt = Date.now()
    this.lastReloadError = null
    this.reloadsOk++
    const kept = new Set(next.pools.flatMap((p) => p.backends.map((b) => backendKey(p.name, b.id)))) // not a scan per override
    for (const k of [...this.states.keys(), ...this.weights.keys()]) {
      if (!kept.has(k)) {
        this.states.delete(k)
        this.weights.delete(k)
      }
    }
    this.health.update(next.pools)
    this.workers.commit(next, generation)
    this.claims.keepOnly(next.listeners)
    this.workers.resize(next.workers)
    this.publish()
    this.log.info({ generation: this.generation }, 'config reloaded')
    return { ok: true }
  }

  /** Stop checks, drain workers (up to the drain deadline), resolve when they are gone. */
  async shutdown(): Promise<void> {
    this.health.stop()
    this.history.stop()
    this.observed.stop()
    if (this.slowstartTimer) clearTimeout(this.slowstartTimer)
    if (this.publishTimer) clearTimeout(this.publishTimer)
    await this.workers.shutdown(this.config.shutdown.drainMs)
    this.claims.releaseAll() // only now may another instance take the addresses
  }

  /** Second signal: no more waiting. */
  killNow(): void {
    this.health.stop()
    this.history.stop()
    this.observed.stop()
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
