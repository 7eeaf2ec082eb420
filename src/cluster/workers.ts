// The primary's set of worker processes: fork N (node:cluster, each listening
// itself with SO_REUSEPORT), hand each its config and the CURRENT snapshot
// before it accepts, replace one that dies (with backoff when it keeps
// dying), broadcast snapshots and configs, and keep their latest counters.
import cluster, { type Worker } from 'node:cluster'
import { fileURLToPath } from 'node:url'
import type { Logger } from 'pino'
import type { Config } from '../config/types.ts'
import type { PassiveReport } from '../health/types.ts'
import { type WorkerStats, sumStats } from '../metrics/worker-stats.ts'
import { type ToPrimary, type ToWorker, open, sender } from './messages.ts'
import type { HealthSnapshot } from '../health/snapshot.ts'
import { CODES } from '../errors.ts'
import { monoMs } from '../mono.ts'

export interface WorkerSlot {
  readonly slot: number
  worker: Worker | null
  pid: number
  ready: boolean
  startedAt: number // monoMs() at the last fork (ms): how long it lived decides the restart backoff
  restarts: number
  backoffMs: number
  stats: WorkerStats | null
  healthy: boolean
  rss: number | null
  cpuSeconds: number | null
  snapshotVersion: number
  lastReportAt: number | null
  send: ((m: ToWorker) => void) | null
  /** Config generation this worker runs, and the one it prepared (reload phase 1). */
  generation: number
  prepared: number
  /** Why this worker could not listen (its last 'listen-failed'), until it is ready. */
  listenError: string | null
}

export interface WorkerSetHooks {
  readonly log: Logger
  current(): { config: Config; snapshot: HealthSnapshot; generation: number }
  onPassive(report: PassiveReport): void
  onConfigApplied(slot: number, generation: number, error: string | null): void
  onReady(slot: number): void
  /** A worker exited before it ever listened; `reason` is its bind error when `bindFailed`. */
  onStartFailed(slot: number, reason: string, bindFailed: boolean): void
}

/** Phase 1 of a reload across workers: who still has to answer, and the first error. */
interface Prepare {
  readonly generation: number
  readonly waiting: Set<WorkerSlot>
  done(error: string | null): void
}

/** How long a worker may take to bind a reload's new listeners before the reload is rolled back. */
export const PREPARE_TIMEOUT_MS = 10_000

/**
 * Delay before replacing a worker that lived `livedMs`: none after a healthy
 * life (>= 5 s); otherwise doubling from 100 ms up to 10 s, so a worker that
 * keeps dying does not spin the machine.
 */
export function nextBackoff(previousMs: number, livedMs: number): number {
  return livedMs < 5000 ? Math.min(Math.max(previousMs * 2, 100), 10_000) : 0
}

// Beside this file: worker-main.ts when running sources, worker-main.js in the built package (dist/).
const WORKER_MAIN = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './worker-main.ts' : './worker-main.js', import.meta.url))

export class WorkerSet {
  readonly slots: WorkerSlot[] = []
  stopping = false
  /** Counters of workers that exited, so totals never go backwards. */
  private retired: WorkerStats = { backends: [], listeners: [] }
  private preparing: Prepare | null = null
  private aborting: { readonly generation: number; readonly waiting: Set<WorkerSlot>; finish(): void } | null = null

  private readonly hooks: WorkerSetHooks

  constructor(hooks: WorkerSetHooks) {
    this.hooks = hooks
    cluster.setupPrimary({ exec: WORKER_MAIN, args: [], silent: false })
  }

  /** Grow or shrink to `n` workers. */
  resize(n: number): void {
    while (this.slots.length < n) {
      const slot: WorkerSlot = { slot: this.slots.length, worker: null, pid: 0, ready: false, startedAt: 0, restarts: 0, backoffMs: 0, stats: null, healthy: false, rss: null, cpuSeconds: null, snapshotVersion: 0, lastReportAt: null, send: null, generation: 0, prepared: 0, listenError: null }
      this.slots.push(slot)
      this.fork(slot)
    }
    while (this.slots.length > n) {
      const slot = this.slots.pop()!
      slot.send?.({ type: 'shutdown', deadlineMs: this.hooks.current().config.shutdown.drainMs })
      slot.worker = null // its exit is no longer ours to replace
    }
  }

  broadcast(msg: ToWorker): void {
    for (const s of this.slots) if (s.ready) s.send?.(msg)
  }

  /**
   * Reload phase 1: every ready worker binds the new listeners of `config`.
   * Resolves with null when all of them did, else with the first reason
   * (a worker's BindError text, a worker that exited, or no answer within
   * `timeoutMs`). Call commit or abort with the same generation afterwards.
   */
  prepare(config: Config, generation: number, timeoutMs = PREPARE_TIMEOUT_MS): Promise<string | null> {
    const waiting = new Set(this.slots.filter((s) => s.ready))
    if (waiting.size === 0) return Promise.resolve(null)
    return new Promise((resolve) => {
      const timer = setTimeout(() => p.done(`worker ${[...waiting].map((s) => s.slot).join(', ')} did not answer the reload within ${timeoutMs} ms`), timeoutMs)
      const p: Prepare = {
        generation,
        waiting,
        done: (error) => {
          if (this.preparing !== p) return
          this.preparing = null
          clearTimeout(timer)
          resolve(error)
        },
      }
      this.preparing = p
      for (const s of waiting) s.send!({ type: 'config', config, generation })
    })
  }

  /** Reload phase 2: switch every worker to `config`; a worker that did not prepare it gets it whole. */
  commit(config: Config, generation: number): void {
    for (const s of this.slots) {
      if (!s.ready) continue // it will get the current config when it is ready
      if (s.prepared !== generation) s.send!({ type: 'config', config, generation })
      s.send!({ type: 'config-commit', generation })
    }
  }

  /**
   * Roll a prepared reload back: every ready worker closes the listeners it
   * bound. Resolves when each has confirmed (or exited), or after `timeoutMs`,
   * so a rejected reload is answered only once none of its listeners accepts.
   */
  abort(generation: number, timeoutMs = PREPARE_TIMEOUT_MS): Promise<void> {
    const waiting = new Set(this.slots.filter((s) => s.ready))
    for (const s of waiting) s.send!({ type: 'config-abort', generation })
    if (waiting.size === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(), timeoutMs)
      const finish = (): void => {
        clearTimeout(timer)
        this.aborting = null
        resolve()
      }
      this.aborting = { generation, waiting, finish }
    })
  }

  allReady(): boolean {
    return this.slots.length > 0 && this.slots.every((s) => s.ready)
  }

  totals(): WorkerStats {
    const live = this.slots.flatMap((s) => (s.stats ? [s.stats] : []))
    return sumStats([this.retired, ...live])
  }

  /** Ask every worker to drain and exit; resolve when all have exited (or `deadlineMs` + grace passed). */
  async shutdown(deadlineMs: number): Promise<void> {
    this.stopping = true
    const exits = this.slots.map((s) => (s.worker && !s.worker.isDead() ? new Promise<void>((r) => s.worker!.once('exit', () => r())) : Promise.resolve()))
    for (const s of this.slots) s.send?.({ type: 'shutdown', deadlineMs })
    const grace = new Promise<void>((r) => setTimeout(r, deadlineMs + 3000).unref())
    await Promise.race([Promise.all(exits), grace])
    this.killAll()
  }

  killAll(): void {
    this.stopping = true
    for (const s of this.slots) if (s.worker && !s.worker.isDead()) s.worker.process.kill('SIGKILL')
  }

  private fork(slot: WorkerSlot): void {
    const w = cluster.fork({ L4LB_WORKER_SLOT: String(slot.slot) })
    slot.worker = w
    slot.pid = w.process.pid ?? 0
    slot.ready = false
    slot.startedAt = monoMs()
    slot.healthy = false
    slot.send = sender<ToWorker>((m) => {
      if (w.isConnected()) w.send(m)
    })
    w.on('message', (raw) => this.onMessage(slot, w, raw))
    w.on('online', () => {
      const { config, snapshot, generation } = this.hooks.current()
      slot.send!({ type: 'init', config, snapshot, workers: this.slots.length, generation })
    })
    w.on('exit', (code, signal) => this.onExit(slot, w, code, signal))
  }

  private onMessage(slot: WorkerSlot, w: Worker, raw: unknown): void {
    if (slot.worker !== w) return
    const msg = open<ToPrimary>(raw)
    if (msg === null) return
    switch (msg.type) {
      case 'ready': {
        slot.ready = true
        slot.listenError = null
        slot.generation = msg.generation
        const cur = this.hooks.current()
        // A snapshot published while it started may be newer than its init one,
        // and a reload committed meanwhile passed it by.
        slot.send!({ type: 'snapshot', snapshot: cur.snapshot })
        if (msg.generation < cur.generation) {
          slot.send!({ type: 'config', config: cur.config, generation: cur.generation })
          slot.send!({ type: 'config-commit', generation: cur.generation })
        }
        this.hooks.onReady(slot.slot)
        return
      }
      case 'listen-failed':
        slot.listenError = msg.error
        this.hooks.log.error({ code: CODES.LB_ERR_LISTEN, slot: slot.slot, pid: slot.pid, err: msg.error }, 'worker could not listen')
        return
      case 'config-prepared': {
        const p = this.preparing
        if ((p === null || !p.waiting.has(slot)) && msg.error !== null) {
          // The late answer of a reload that was already rolled back (another
          // worker failed first): nothing to do, the abort closes what it bound.
          if (msg.generation !== this.hooks.current().generation) return
          // A worker catching up with a committed reload (it was starting) cannot
          // bind: it must not serve the old config, so it is replaced and starts
          // from the current one (its failure is then a start failure, logged).
          this.hooks.log.error({ code: CODES.LB_ERR_LISTEN, slot: slot.slot, pid: slot.pid, err: msg.error }, 'worker cannot apply the current config; replacing it')
          w.process.kill('SIGKILL')
          return
        }
        if (p === null || p.generation !== msg.generation || !p.waiting.has(slot)) return
        p.waiting.delete(slot)
        if (msg.error !== null) return p.done(msg.error)
        slot.prepared = msg.generation
        if (p.waiting.size === 0) p.done(null)
        return
      }
      case 'passive':
        this.hooks.onPassive(msg.report)
        return
      case 'stats':
        slot.stats = msg.stats
        slot.healthy = msg.healthy
        slot.rss = msg.rss
        slot.cpuSeconds = msg.cpuSeconds
        slot.snapshotVersion = msg.snapshotVersion
        slot.lastReportAt = Date.now()
        return
      case 'config-aborted': {
        const a = this.aborting
        if (a === null || a.generation !== msg.generation) return
        a.waiting.delete(slot)
        if (a.waiting.size === 0) a.finish()
        return
      }
      case 'config-applied':
        if (msg.error === null) slot.generation = msg.generation
        this.hooks.onConfigApplied(slot.slot, msg.generation, msg.error)
        return
    }
  }

  private onExit(slot: WorkerSlot, w: Worker, code: number | null, signal: string | null): void {
    if (slot.stats) {
      // Keep its counters (not its gauges) so totals stay monotonic.
      const s = slot.stats
      this.retired = sumStats([
        this.retired,
        { backends: s.backends.map((b) => ({ ...b, active: 0 })), listeners: s.listeners.map((l) => ({ ...l, active: 0, listening: true })), pools: s.pools?.map((p) => ({ ...p, queued: 0 })) },
      ])
      slot.stats = null
    }
    if (slot.worker !== w || this.stopping) return
    const p = this.preparing
    if (p !== null && p.waiting.has(slot)) p.done(`worker ${slot.slot} (pid ${slot.pid}) exited during the reload`)
    const a = this.aborting // a dead worker's listeners are closed with it
    if (a !== null && a.waiting.delete(slot) && a.waiting.size === 0) a.finish()
    if (!slot.ready) this.hooks.onStartFailed(slot.slot, slot.listenError ?? `worker ${slot.slot} (pid ${slot.pid}) exited before it listened (exit code ${code}, signal ${signal})`, slot.listenError !== null)
    if (this.stopping) return
    slot.ready = false
    slot.restarts++
    const lived = monoMs() - slot.startedAt
    slot.backoffMs = nextBackoff(slot.backoffMs, lived)
    this.hooks.log.error({ code: CODES.LB_ERR_WORKER_EXIT, slot: slot.slot, pid: slot.pid, exitCode: code, signal, restartInMs: slot.backoffMs }, 'worker exited; replacing it')
    // Not unref'd: during the gap nothing else may keep the primary alive.
    setTimeout(() => {
      if (!this.stopping && this.slots[slot.slot] === slot) this.fork(slot)
    }, slot.backoffMs)
  }
}
