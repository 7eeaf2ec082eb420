// The one health checker of a machine: it runs in the primary only (workers
// never probe), so each backend gets one probe per interval whatever the worker
// count. Probe -> pure dampener -> transition event: the checker only keeps
// state and calls `onChange`; publishing snapshots to workers is the caller's job.
//
// Contract:
// - start() schedules probes (first one spread over an interval); stop() clears
//   every timer and aborts in-flight probes (their results are dropped). Timers
//   are unref'd. start() after stop() resumes with the state kept.
// - update(pools) on reload: backends with the same pool name + id + address
//   keep their verdict, counters and timers; removed ones stop being probed; new
//   ones, and one whose host or port changed, start `unknown` (type none: `up`)
//   and are probed if started.
// - reportPassive(report) from workers feeds passive ejection (passive.ts);
//   ignored while stopped or for unknown backends. Its guards see the other
//   backends' verdicts, ejections and config weights, plus `outOfService` (the
//   operator's drain/maint/weight 0, which only the primary knows).
// - While a backend is ejected its checks run at `fast-interval` (HAProxy forces
//   `fastinter` on `on-error`), and the first check started after the ejection
//   that passes (verdict not down) ends it early (Envoy's
//   `successful_active_health_check_uneject_host`, on by default).
// - onChange fires on every verdict change (including unknown -> up), ejection and
//   un-ejection; a throwing onChange is logged, never breaks the checker.
// - Health type `none`: verdict `up`, never probed; passive ejection still applies.
// - Fleet (src/fleet/): setProbing(false) stops active probes while another
//   node decides; adopt() takes that node's verdicts (emitting the changes) so
//   that probing again (setProbing(true)) goes on from them without a flap.
// - Agent checks (agent-poller.ts) run beside the probes, started, stopped and
//   updated with them; their view is in each row's `agent`, a change is a
//   HealthChange of kind `agent`. In a fleet, setAgentPolling(false) stops a
//   follower's polls and adoptAgents() takes the leader's views, as for verdicts.
import { backendKey } from '../config/backend-key.ts'
import type { BackendConfig, PoolConfig } from '../config/types.ts'
import { isActiveCheck } from '../config/check-kinds.ts'
import { child } from '../log.ts'
import { changing, next } from './dampener.ts'
import { ALWAYS_UP, newEntry, toRow, type Entry } from './entry.ts'
import { endEarly, expire, report, type PassiveStep } from './passive.ts'
import { probeFor } from './probes/registry.ts'
import { firstDelay, KeyedTimers, nextDelay, realTimers, type Timers } from './scheduler.ts'
import { AgentPoller, type SharedAgentView } from './agent-poller.ts'
import type { AskAgent } from './probes/agent.ts'
import type { BackendHealth, CheckStatus, DataPathSettings, HealthChange, HealthVerdict, PassiveReport, ProbeFn, ProbeResult } from './types.ts'

const log = child('health')

export interface HealthCheckerOptions {
  readonly pools: readonly PoolConfig[]
  readonly onChange: (change: HealthChange) => void
  readonly now?: () => number // epoch ms; default Date.now
  readonly probe?: ProbeFn // replaces the registry's probe for every type but `none` (tests)
  /** The data path's connect settings, read at each probe (so a reload applies); default: none (the check's timeout alone). */
  readonly dataPath?: () => DataPathSettings
  readonly random?: () => number // [0, 1); default Math.random
  readonly timers?: Timers // default realTimers (unref'd)
  /** True when the operator took the backend out of service (drain, maint, weight 0); default none. */
  readonly outOfService?: (pool: string, id: string) => boolean
  readonly askAgent?: AskAgent // replaces the agent poll (tests)
}

/** A verdict decided elsewhere, for adopt(). */
export interface AdoptedHealth {
  readonly verdict: HealthVerdict
  readonly check: CheckStatus
  readonly changedAt: number
  readonly slowstartSince: number | null
}

/** Refused-ejection warnings per backend: at most one per this many ms. */
const DENIAL_LOG_MS = 10_000

export class HealthChecker {
  #entries = new Map<string, Entry>()
  #byPool = new Map<string, Entry[]>()
  #started = false
  #probing = true
  #probesSent = 0
  readonly #onChange: (change: HealthChange) => void
  readonly #now: () => number
  readonly #probe: ProbeFn | undefined
  readonly #dataPath: (() => DataPathSettings) | undefined
  readonly #random: () => number
  readonly #timers: KeyedTimers
  readonly #outOfService: (pool: string, id: string) => boolean
  readonly #denialLogged = new Map<string, number>()
  readonly #agents: AgentPoller

  constructor(options: HealthCheckerOptions) {
    this.#onChange = options.onChange
    this.#now = options.now ?? Date.now
    this.#probe = options.probe
    this.#dataPath = options.dataPath
    this.#random = options.random ?? Math.random
    this.#timers = new KeyedTimers(options.timers ?? realTimers)
    this.#outOfService = options.outOfService ?? (() => false)
    this.#agents = new AgentPoller({
      timers: options.timers ?? realTimers, random: this.#random, now: this.#now, ask: options.askAgent,
      onChange: (pool, id, detail) => {
        const e = this.#entries.get(backendKey(pool, id))
        if (e) this.#emit(e, 'agent', e.damp.verdict, detail)
      },
    })
    this.#apply(options.pools)
  }

  /** Probes started since construction (each is one connection attempt). */
  get probesSent(): number {
    return this.#probesSent
  }

  start(): void {
    if (this.#started) return
    this.#started = true
    const now = this.#now()
    for (const e of this.#entries.values()) {
      this.#arm(e, firstDelay(e.health.intervalMs, this.#random))
      if (e.passive.ejectedUntil !== null) this.#armExpiry(e, e.passive.ejectedUntil - now)
    }
    this.#agents.start()
  }

  stop(): void {
    this.#started = false
    this.#timers.clearAll()
    for (const e of this.#entries.values()) this.#abort(e)
    this.#agents.stop()
  }

  /** False while active probes run elsewhere (a fleet follower); passive ejection goes on. Default true. */
  get probing(): boolean {
    return this.#probing
  }

  /**
   * Turn active probing off (in-flight probes are aborted, their results dropped)
   * or back on (each backend probed within one interval, from its current verdict).
   */
  setProbing(on: boolean): void {
    if (on === this.#probing) return
    this.#probing = on
    for (const e of this.#entries.values()) {
      if (on) {
        if (this.#started) this.#arm(e, firstDelay(e.health.intervalMs, this.#random))
      } else {
        this.#timers.clear(`probe:${e.key}`)
        this.#abort(e)
      }
    }
  }

  /**
   * Take verdicts decided elsewhere (the fleet's health leader), keyed by
   * backendKey(pool, id); unknown keys and backends without active checks are
   * skipped. A changed verdict is emitted like a local transition, with
   * `detail`; the dampener restarts from the adopted verdict (no streak).
   */
  adopt(rows: ReadonlyMap<string, AdoptedHealth>, detail: string): void {
    for (const [key, row] of rows) {
      const e = this.#entries.get(key)
      if (e === undefined || !isActiveCheck(e.health.type)) continue
      const from = e.damp.verdict
      e.damp = { verdict: row.verdict, streak: 0 }
      if (row.check.at !== null) e.check = row.check
      e.slowstartSince = row.slowstartSince
      if (from === row.verdict) continue
      e.changedAt = row.changedAt
      if (row.verdict === 'down') e.passive = { ...e.passive, failures: 0 }
      if (row.verdict !== 'unknown') this.#emit(e, row.verdict, from, `${detail}: ${row.check.result?.detail ?? 'no check yet'}`)
    }
  }

  /** False while another node polls the agents (a fleet follower). Default true. */
  get agentPolling(): boolean {
    return this.#agents.polling
  }

  /**
   * Stop polling agents (views kept, in-flight polls dropped) or poll again,
   * each agent within one interval, from the views held: a view adopted from
   * the leader stays until this node's own poll says otherwise.
   */
  setAgentPolling(on: boolean): void {
    this.#agents.setPolling(on)
  }

  /**
   * Take agent views decided elsewhere (the fleet's health leader `leader`),
   * keyed by backendKey(pool, id); backends without an agent here, or with
   * another agent address, are skipped. A changed state or weight is emitted
   * as a HealthChange of kind `agent`, with `detail` first.
   */
  adoptAgents(views: ReadonlyMap<string, SharedAgentView>, leader: string, detail: string): void {
    this.#agents.adopt(views, leader, detail)
  }

  update(pools: readonly PoolConfig[]): void {
    const before = this.#entries
    this.#apply(pools)
    for (const [key, e] of before) {
      if (this.#entries.get(key) === e) continue
      e.removed = true
      if (!this.#entries.has(key)) {
        // (a backend that moved has a new entry under the same key, timers armed)
        this.#denialLogged.delete(key)
        this.#timers.clear(`probe:${key}`)
        this.#timers.clear(`eject:${key}`)
      }
      this.#abort(e)
    }
  }

  /**
   * One worker's connect outcome for a backend. An ejection's detail names the
   * failure that completed the run: the observed answer (`CONNECT 503`) when
   * the report carries one, else the connect outcome (timeout or error).
   */
  reportPassive(r: PassiveReport): void {
    const { pool, id, outcome } = r
    const e = this.#entries.get(backendKey(pool, id))
    if (!this.#started || !e) return
    const others = (this.#byPool.get(pool) ?? []).filter((o) => o !== e)
    const out = (o: Entry): boolean => o.damp.verdict === 'down' || o.passive.ejectedUntil !== null
    const taking = others.filter((o) => !out(o) && o.backend.weight > 0 && !this.#outOfService(pool, o.backend.id) && !this.#agents.outOfService(o.key))
    const now = this.#now()
    const availability = { size: others.length + 1, unavailable: others.filter(out).length, takingNewFlows: taking.length }
    const step = report(e.passive, outcome === 'connected', e.passiveConfig, availability, now)
    e.passive = step.state
    if (step.denied !== null) this.#logDenial(e, step, now)
    if (step.transition !== 'eject' || step.state.ejectedUntil === null) return
    e.changedAt = now
    this.#armExpiry(e, step.state.ejectedUntil - now)
    // Check soon: a backend that recovers is back after one passing check.
    if (e.inflight === null) this.#arm(e, e.health.fastIntervalMs)
    const detail = r.answer === undefined
      ? `passive: ${e.passiveConfig.consecutive} consecutive connect failures (last: ${outcome === 'timeout' ? 'timeout' : 'error'})`
      : `passive: ${e.passiveConfig.consecutive} consecutive failures (last: ${r.answer})`
    this.#emit(e, 'eject', e.damp.verdict, detail)
  }

  table(): readonly BackendHealth[] {
    return Object.freeze([...this.#entries.values()].map((e) => toRow(e, this.#agents.view(e.key))))
  }

  /** Build the entry maps for `pools`, reusing entries with the same pool + id. */
  #apply(pools: readonly PoolConfig[]): void {
    const entries = new Map<string, Entry>()
    const byPool = new Map<string, Entry[]>()
    for (const pool of pools) {
      const list: Entry[] = []
      for (const backend of pool.backends) {
        const key = backendKey(pool.name, backend.id)
        if (entries.has(key)) continue // duplicate id: config validation rejects it
        // Moved to another address: another server, so no verdict carries over.
        const kept = this.#entries.get(key)
        const old = kept && kept.backend.host === backend.host && kept.backend.port === backend.port ? kept : undefined
        const e = old ? this.#refresh(old, backend, pool) : this.#create(backend, pool)
        entries.set(key, e)
        list.push(e)
      }
      byPool.set(pool.name, list)
    }
    this.#entries = entries
    this.#byPool = byPool
    this.#agents.update(pools)
  }

  #create(backend: BackendConfig, pool: PoolConfig): Entry {
    const e = newEntry(backend, pool, this.#now())
    if (this.#started) this.#arm(e, firstDelay(e.health.intervalMs, this.#random))
    return e
  }

  #refresh(e: Entry, backend: BackendConfig, pool: PoolConfig): Entry {
    const wasNone = !isActiveCheck(e.health.type)
    e.backend = backend
    e.health = pool.health
    e.passiveConfig = pool.passive
    if (!isActiveCheck(pool.health.type) && !wasNone) {
      this.#timers.clear(`probe:${e.key}`)
      this.#abort(e)
      const from = e.damp.verdict
      e.damp = ALWAYS_UP
      if (from !== 'up') this.#transition(e, from, 'up', 'health check disabled')
    } else if (wasNone && isActiveCheck(pool.health.type) && this.#started) {
      this.#arm(e, firstDelay(e.health.intervalMs, this.#random))
    }
    return e
  }

  #arm(e: Entry, delayMs: number): void {
    if (!isActiveCheck(e.health.type) || !this.#probing) return
    this.#timers.set(`probe:${e.key}`, delayMs, () => void this.#runProbe(e))
  }

  #armExpiry(e: Entry, delayMs: number): void {
    this.#timers.set(`eject:${e.key}`, Math.max(1, delayMs), () => {
      const now = this.#now()
      const step = expire(e.passive, now)
      if (step.transition !== 'uneject') {
        if (e.passive.ejectedUntil !== null) this.#armExpiry(e, e.passive.ejectedUntil - now) // timer ran early
        return
      }
      this.#uneject(e, step, now, 'passive: ejection ended')
    })
  }

  #uneject(e: Entry, step: PassiveStep, now: number, detail: string): void {
    this.#timers.clear(`eject:${e.key}`)
    e.passive = step.state
    e.changedAt = now
    if (e.damp.verdict !== 'down') e.slowstartSince = now
    this.#emit(e, 'uneject', e.damp.verdict, detail)
  }

  #logDenial(e: Entry, step: PassiveStep, now: number): void {
    const last = this.#denialLogged.get(e.key)
    if (last !== undefined && now - last < DENIAL_LOG_MS) return
    this.#denialLogged.set(e.key, now)
    const why = step.denied === 'last-backend' ? 'no other backend of the pool could serve' : 'max-ejection-percent reached'
    log.warn({ pool: e.pool, backend: e.backend.id, denied: step.denied }, `passive ejection refused: ${why}`)
  }

  async #runProbe(e: Entry): Promise<void> {
    const probe = this.#probe ?? probeFor(e.health.type)
    if (!probe || !this.#started || !this.#probing || e.removed) return
    const ac = new AbortController()
    e.inflight = ac
    const startedAt = this.#now()
    this.#probesSent++
    let result: ProbeResult
    try {
      result = await probe(e.backend, e.health, ac.signal, this.#dataPath?.())
    } catch (err) {
      result = { ok: false, detail: `probe error: ${(err as Error).message}`, durationMs: 0 }
    }
    if (e.inflight === ac) e.inflight = null
    if (ac.signal.aborted || !this.#started || !this.#probing || e.removed || !isActiveCheck(e.health.type)) return
    const now = this.#now()
    e.check = Object.freeze({ result, at: now })
    const from = e.damp.verdict
    const step = next(e.damp, result.ok, e.health.rise, e.health.fall)
    e.damp = step.state
    if (step.transition) this.#transition(e, from, step.transition, result.detail)
    const ejectedAt = e.passive.ejectedAt
    if (result.ok && ejectedAt !== null && startedAt > ejectedAt && e.damp.verdict !== 'down') {
      this.#uneject(e, endEarly(e.passive, now), now, `passive: ejection ended early, active check passed (${result.detail})`)
    }
    const fast = changing(e.damp) || e.passive.ejectedUntil !== null
    const base = fast ? e.health.fastIntervalMs : e.health.intervalMs
    this.#arm(e, nextDelay(base, e.health.jitter, this.#random, now - startedAt))
  }

  #transition(e: Entry, from: HealthVerdict, to: 'up' | 'down', detail: string): void {
    const now = this.#now()
    e.changedAt = now
    if (from === 'down' && to === 'up' && e.passive.ejectedUntil === null) e.slowstartSince = now
    if (to === 'down') e.passive = { ...e.passive, failures: 0 }
    this.#emit(e, to, from, detail)
  }

  #emit(e: Entry, kind: HealthChange['kind'], from: HealthVerdict, detail: string): void {
    const change: HealthChange = Object.freeze({
      pool: e.pool,
      id: e.backend.id,
      kind,
      from,
      to: e.damp.verdict,
      ejectedUntil: e.passive.ejectedUntil,
      at: e.changedAt,
      detail,
    })
    // debug: the owner of onChange logs the change (the primary does, at warn)
    log.debug({ pool: e.pool, backend: e.backend.id, kind, from, to: change.to, detail }, `backend ${kind}`)
    try {
      this.#onChange(change)
    } catch (err) {
      log.error({ err }, 'health onChange handler threw')
    }
  }

  #abort(e: Entry): void {
    e.inflight?.abort()
    e.inflight = null
  }
}
