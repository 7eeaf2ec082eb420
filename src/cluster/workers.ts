// The primary's set of worker processes: fork N (node:cluster, each listening
// itself with SO_REUSEPORT), hand each its config and the CURRENT snapshot
// before it accepts, replace one that dies (with backoff when it keeps
// dying), broadcast snapshots and configs, and keep their latest counters.
import cluster, { type Worker } from 'node:cluster'
import { fileURLToPath } from 'node:url'
import type { Logger } from 'pino'
import type { Config } from '../config/types.ts'
import { type WorkerStats, sumStats } from '../proxy/stats.ts'
import { type ToPrimary, type ToWorker, open, sender } from './messages.ts'
import type { HealthSnapshot } from './snapshot.ts'

export interface WorkerSlot {
  readonly slot: number
  worker: Worker | null
  pid: number
  ready: boolean
  startedAt: number
  restarts: number
  backoffMs: number
  stats: WorkerStats | null
  healthy: boolean
  rss: number | null
  cpuSeconds: number | null
  snapshotVersion: number
  lastReportAt: number | null
  send: ((m: ToWorker) => void) | null
}

export interface WorkerSetHooks {
  readonly log: Logger
  current(): { config: Config; snapshot: HealthSnapshot }
  onPassive(pool: string, id: string, ok: boolean, timedOut: boolean): void
  onConfigApplied(slot: number, generation: number, error: string | null): void
  onReady(slot: number, listeners: { name: string; port: number }[]): void
}

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

  private readonly hooks: WorkerSetHooks

  constructor(hooks: WorkerSetHooks) {
    this.hooks = hooks
    cluster.setupPrimary({ exec: WORKER_MAIN, args: [], silent: false })
  }

  /** Grow or shrink to `n` workers. */
  resize(n: number): void {
    while (this.slots.length < n) {
      const slot: WorkerSlot = { slot: this.slots.length, worker: null, pid: 0, ready: false, startedAt: 0, restarts: 0, backoffMs: 0, stats: null, healthy: false, rss: null, cpuSeconds: null, snapshotVersion: 0, lastReportAt: null, send: null }
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
    slot.startedAt = Date.now()
    slot.healthy = false
    slot.send = sender<ToWorker>((m) => {
      if (w.isConnected()) w.send(m)
    })
    w.on('message', (raw) => this.onMessage(slot, w, raw))
    w.on('online', () => {
      const { config, snapshot } = this.hooks.current()
      slot.send!({ type: 'init', config, snapshot, workers: this.slots.length })
    })
    w.on('exit', (code, signal) => this.onExit(slot, w, code, signal))
  }

  private onMessage(slot: WorkerSlot, w: Worker, raw: unknown): void {
    if (slot.worker !== w) return
    const msg = open<ToPrimary>(raw)
    if (msg === null) return
    switch (msg.type) {
      case 'ready':
        slot.ready = true
        // A snapshot published while it started may be newer than its init one.
        slot.send!({ type: 'snapshot', snapshot: this.hooks.current().snapshot })
        this.hooks.onReady(slot.slot, msg.listeners)
        return
      case 'listen-failed':
        this.hooks.log.error({ slot: slot.slot, err: msg.error }, 'worker could not listen')
        return
      case 'passive':
        this.hooks.onPassive(msg.pool, msg.id, msg.ok, msg.timedOut)
        return
      case 'stats':
        slot.stats = msg.stats
        slot.healthy = msg.healthy
        slot.rss = msg.rss
        slot.cpuSeconds = msg.cpuSeconds
        slot.snapshotVersion = msg.snapshotVersion
        slot.lastReportAt = Date.now()
        return
      case 'config-applied':
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
        { backends: s.backends.map((b) => ({ ...b, active: 0 })), listeners: s.listeners.map((l) => ({ ...l, active: 0, listening: true })) },
      ])
      slot.stats = null
    }
    if (slot.worker !== w || this.stopping) return
    slot.ready = false
    slot.restarts++
    const lived = Date.now() - slot.startedAt
    slot.backoffMs = nextBackoff(slot.backoffMs, lived)
    this.hooks.log.error({ code: 'LB_ERR_WORKER_EXIT', slot: slot.slot, pid: slot.pid, exitCode: code, signal, restartInMs: slot.backoffMs }, 'worker exited; replacing it')
    // Not unref'd: during the gap nothing else may keep the primary alive.
    setTimeout(() => {
      if (!this.stopping && this.slots[slot.slot] === slot) this.fork(slot)
    }, slot.backoffMs)
  }
}
