// Agent checks of one machine (HAProxy `agent-check`): the HealthChecker owns
// one AgentPoller, so agents are polled where the active checks run (the
// primary, once per machine), each backend with an agent on its own
// `agent.interval` (±10 % jitter; polls of one backend never overlap).
//
// Each line is parsed (agent-line.ts) and folded into the backend's AgentView:
// the agent's own health word (down until it says up), its own admin state
// (ready / drain / maint) and its weight percentage. Only what the line
// mentions changes. A poll that yields no line (connect error, timeout, a
// close before the line end, a line over 1024 bytes) or a line with no known
// word changes nothing: its reason is logged (warn when the reason changes,
// debug while it repeats) and kept in the view for /status.
//
// `onChange(pool, id, detail)` fires when the view's state or weight changes;
// the checker turns it into a HealthChange (kind `agent`) and the primary
// republishes. Reload (`update`) keeps a backend's view while its address and
// agent address stay; a backend whose agent is removed loses it.
//
// Fleet (src/fleet/): only the health leader polls. setPolling(false) stops
// the polls of a follower (views kept), adopt() takes the leader's published
// views (emitting the changes), and setPolling(true) (leader, or a fallback)
// polls again from the views held, so a takeover changes nothing while the
// agents say the same. Each view says where it came from (`source`).
import type { AgentConfig, PoolConfig } from '../config/types.ts'
import { backendKey } from '../config/backend-key.ts'
import { formatHostPort } from '../net/ip.ts'
import { child } from '../log.ts'
import { type AgentAdmin, isEmptyReply, parseAgentLine } from './agent-line.ts'
import { askAgent, type AgentTarget, type AskAgent } from './probes/agent.ts'
import { firstDelay, KeyedTimers, nextDelay, type Timers } from './scheduler.ts'

const log = child('agent')
const JITTER = 0.1

/** What the agent of one backend has said, for decide() and /status (frozen). */
export interface AgentView {
  readonly address: string // host:port of the agent
  /** The agent said down, fail or stopped (and not up since): the backend takes no new flows. */
  readonly down: boolean
  /** The agent's admin word; `ready` until it says drain or maint. */
  readonly admin: AgentAdmin
  /** Weight percentage of the configured weight; null until the agent sends one. */
  readonly percent: number | null
  /** Last line that was applied, and when (epoch ms); null before the first. */
  readonly line: string | null
  readonly lineAt: number | null
  /** Why the last poll was ignored; null when it was applied. */
  readonly ignored: string | null
  readonly polls: number // polls finished by this node since the backend was first seen
  readonly ignoredTotal: number // of which ignored (no line, or no known word)
  /**
   * Where down, admin, percent and line came from: `local` (this node's own
   * polls, or none yet) or `leader` (adopted from the fleet's health leader,
   * docs/fleet.md). An ignored poll leaves it as it was.
   */
  readonly source: 'local' | 'leader'
  /** The leader node whose view was adopted (source `leader`), else null. */
  readonly leader: string | null
}

/** The part of an AgentView the fleet's health leader publishes (src/fleet/health-doc.ts); the counters stay each node's own. */
export type SharedAgentView = Pick<AgentView, 'address' | 'down' | 'admin' | 'percent' | 'line' | 'lineAt' | 'ignored'>

/** The published part of `v`. */
export function sharedView(v: AgentView): SharedAgentView {
  return { address: v.address, down: v.down, admin: v.admin, percent: v.percent, line: v.line, lineAt: v.lineAt, ignored: v.ignored }
}

interface Slot {
  readonly key: string
  readonly pool: string
  readonly id: string
  target: AgentTarget
  intervalMs: number
  view: AgentView
  inflight: AbortController | null
  lastReason: string | null // for log de-duplication
  removed: boolean
}

export interface AgentPollerOptions {
  readonly onChange: (pool: string, id: string, detail: string) => void
  readonly timers: Timers
  readonly random: () => number
  readonly now: () => number
  readonly ask?: AskAgent
}

function targetOf(backendHost: string, a: AgentConfig): AgentTarget {
  return { host: a.host ?? backendHost, port: a.port, send: a.send, timeoutMs: a.timeoutMs }
}

export class AgentPoller {
  #slots = new Map<string, Slot>()
  #started = false
  #polling = true
  readonly #timers: KeyedTimers
  readonly #opts: AgentPollerOptions
  readonly #ask: AskAgent

  constructor(opts: AgentPollerOptions) {
    this.#opts = opts
    this.#timers = new KeyedTimers(opts.timers)
    this.#ask = opts.ask ?? askAgent
  }

  /** The view of backend `key` (backendKey), or null when it has no agent. */
  view(key: string): AgentView | null {
    return this.#slots.get(key)?.view ?? null
  }

  /** True when the agent keeps the backend from new flows (down, drain, maint or 0%). */
  outOfService(key: string): boolean {
    const v = this.view(key)
    return v !== null && (v.down || v.admin !== 'ready' || v.percent === 0)
  }

  /** Take the agents of `pools`: same backend and agent address keep their view. */
  update(pools: readonly PoolConfig[]): void {
    const next = new Map<string, Slot>()
    for (const p of pools) {
      for (const b of p.backends) {
        if (b.agent === null) continue
        const key = backendKey(p.name, b.id)
        const target = targetOf(b.host, b.agent)
        const address = formatHostPort(target.host, target.port)
        const old = this.#slots.get(key)
        if (old !== undefined && old.view.address === address) {
          old.target = target
          old.intervalMs = b.agent.intervalMs
          next.set(key, old)
          continue
        }
        const slot: Slot = { key, pool: p.name, id: b.id, target, intervalMs: b.agent.intervalMs, view: fresh(address), inflight: null, lastReason: null, removed: false }
        next.set(key, slot)
        if (this.#started && this.#polling) this.#arm(slot, firstDelay(slot.intervalMs, this.#opts.random))
      }
    }
    for (const [key, s] of this.#slots) {
      if (next.get(key) === s) continue
      s.removed = true
      s.inflight?.abort()
      if (!next.has(key)) this.#timers.clear(`agent:${key}`)
    }
    this.#slots = next
  }

  start(): void {
    if (this.#started) return
    this.#started = true
    if (this.#polling) this.#armAll()
  }

  stop(): void {
    this.#started = false
    this.#halt()
  }

  /** False while another node polls the agents (a fleet follower). Default true. */
  get polling(): boolean {
    return this.#polling
  }

  /**
   * Stop polling (in-flight polls are aborted, their replies dropped; views
   * kept) or poll again (each agent within one interval, from its view).
   */
  setPolling(on: boolean): void {
    if (on === this.#polling) return
    this.#polling = on
    if (!this.#started) return
    if (on) this.#armAll()
    else this.#halt()
  }

  /**
   * Take views decided elsewhere (the fleet's health leader `leader`), keyed by
   * backendKey. Skipped: keys without an agent here, and views of another agent
   * address (the leader's config differs). A change of down, admin or percent
   * is reported through onChange with `detail` first; the counters stay local.
   */
  adopt(views: ReadonlyMap<string, SharedAgentView>, leader: string, detail: string): void {
    for (const [key, v] of views) {
      const s = this.#slots.get(key)
      if (s === undefined || s.view.address !== v.address) continue
      const before = s.view
      s.view = Object.freeze({ ...before, down: v.down, admin: v.admin, percent: v.percent, line: v.line, lineAt: v.lineAt, ignored: v.ignored, source: 'leader' as const, leader })
      if (v.down === before.down && v.admin === before.admin && v.percent === before.percent) continue
      this.#opts.onChange(s.pool, s.id, `${detail}: agent: ${words(v.down ? 'down' : null, v.admin, v.percent)}`)
    }
  }

  #armAll(): void {
    for (const s of this.#slots.values()) this.#arm(s, firstDelay(s.intervalMs, this.#opts.random))
  }

  #halt(): void {
    this.#timers.clearAll()
    for (const s of this.#slots.values()) {
      s.inflight?.abort()
      s.inflight = null
    }
  }

  #arm(s: Slot, delayMs: number): void {
    this.#timers.set(`agent:${s.key}`, delayMs, () => void this.#poll(s))
  }

  async #poll(s: Slot): Promise<void> {
    if (!this.#started || !this.#polling || s.removed) return
    const ac = new AbortController()
    s.inflight = ac
    const startedAt = this.#opts.now()
    const answer = await this.#ask(s.target, ac.signal).catch((err: Error) => ({ ok: false as const, reason: `poll error: ${err.message}`, durationMs: 0 }))
    if (s.inflight === ac) s.inflight = null
    if (ac.signal.aborted || !this.#started || !this.#polling || s.removed) return
    const now = this.#opts.now()
    if (!answer.ok) this.#ignore(s, answer.reason)
    else this.#apply(s, answer.line, now)
    this.#arm(s, nextDelay(s.intervalMs, JITTER, this.#opts.random, now - startedAt))
  }

  #ignore(s: Slot, reason: string): void {
    s.view = Object.freeze({ ...s.view, ignored: reason, polls: s.view.polls + 1, ignoredTotal: s.view.ignoredTotal + 1 })
    const level = s.lastReason === reason ? 'debug' : 'warn'
    s.lastReason = reason
    log[level]({ pool: s.pool, backend: s.id, agent: s.view.address, reason }, 'agent reply ignored; backend keeps its agent state')
  }

  #apply(s: Slot, line: string, now: number): void {
    const r = parseAgentLine(line)
    const shown = line.length > 120 ? `${line.slice(0, 117)}...` : line
    if (isEmptyReply(r)) return this.#ignore(s, `no known word in ${JSON.stringify(shown)} (${r.problems.join('; ') || 'empty line'})`)
    if (r.problems.length > 0) {
      const reason = `skipped ${r.problems.join('; ')}`
      if (s.lastReason !== reason) log.warn({ pool: s.pool, backend: s.id, agent: s.view.address, line: shown }, `agent line partly applied: ${reason}`)
      s.lastReason = reason
    } else s.lastReason = null
    const before = s.view
    const down = r.health === null ? before.down : r.health === 'down'
    const admin = r.admin ?? before.admin
    const percent = r.percent ?? before.percent
    s.view = Object.freeze({ ...before, down, admin, percent, line: shown, lineAt: now, ignored: null, polls: before.polls + 1, source: 'local' as const, leader: null })
    if (down === before.down && admin === before.admin && percent === before.percent) return
    const note = r.description === '' ? '' : ` # ${r.description.slice(0, 120)}`
    this.#opts.onChange(s.pool, s.id, `agent: ${words(down ? (r.healthWord ?? 'down') : null, admin, percent)}${note}`)
  }
}

/** "up drain 50%", "down ready": a view's state in the words of a change's detail. */
function words(downWord: string | null, admin: AgentAdmin, percent: number | null): string {
  return [downWord ?? 'up', admin, ...(percent === null ? [] : [`${percent}%`])].join(' ')
}

function fresh(address: string): AgentView {
  return Object.freeze({ address, down: false, admin: 'ready', percent: null, line: null, lineAt: null, ignored: null, polls: 0, ignoredTotal: 0, source: 'local', leader: null })
}
