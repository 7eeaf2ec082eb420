// The typed IPC envelope between the primary and its workers: a discriminated
// union on `type`, a protocol version `v` and a per-sender sequence number
// `seq`. Anything else arriving on the channel is ignored (prom-client and
// node:cluster use the same channel for their own messages).
import type { Config } from '../config/types.ts'
import type { PassiveReport } from '../health/types.ts'
import type { WorkerStats } from '../metrics/worker-stats.ts'
import type { HealthSnapshot } from '../health/snapshot.ts'

export const PROTOCOL = 1

// A reload is two-phase so it is all or nothing across workers: 'config'
// binds the new listeners (answered by 'config-prepared'); only when every
// worker prepared does the primary send 'config-commit' (answered by
// 'config-applied'), else 'config-abort' closes what was bound (answered by
// 'config-aborted', so a rejected reload is answered only once nothing of it listens).
export type ToWorker =
  | { type: 'init'; config: Config; snapshot: HealthSnapshot; workers: number; generation: number }
  | { type: 'config'; config: Config; generation: number }
  | { type: 'config-commit'; generation: number }
  | { type: 'config-abort'; generation: number }
  | { type: 'snapshot'; snapshot: HealthSnapshot }
  | { type: 'shutdown'; deadlineMs: number }

export type ToPrimary =
  | { type: 'ready'; listeners: { name: string; port: number }[]; generation: number }
  | { type: 'listen-failed'; error: string }
  | { type: 'passive'; report: PassiveReport }
  | { type: 'stats'; stats: WorkerStats; healthy: boolean; snapshotVersion: number; rss: number; cpuSeconds: number }
  | { type: 'config-prepared'; generation: number; error: string | null }
  | { type: 'config-applied'; generation: number; error: string | null }
  | { type: 'config-aborted'; generation: number }

export type Envelope<M> = M & { readonly l4lb: typeof PROTOCOL; readonly seq: number }

export function envelope<M extends { type: string }>(msg: M, seq: number): Envelope<M> {
  return { ...msg, l4lb: PROTOCOL, seq }
}

/** Narrow an unknown IPC message to our envelope, or null when it is not ours. */
export function open<M extends { type: string }>(raw: unknown): Envelope<M> | null {
  if (raw === null || typeof raw !== 'object') return null
  const m = raw as { l4lb?: unknown; type?: unknown; seq?: unknown }
  if (m.l4lb !== PROTOCOL || typeof m.type !== 'string' || typeof m.seq !== 'number') return null
  return raw as Envelope<M>
}

/** A sender with its own sequence numbers; `done` runs once the message is handed to the channel. */
export function sender<M extends { type: string }>(send: (m: Envelope<M>, done?: () => void) => void): (msg: M, done?: () => void) => void {
  let seq = 0
  return (msg, done) => send(envelope(msg, ++seq), done)
}
