// What the health leader publishes at `<prefix>/health`: every backend's
// decided verdict with its last check result, stamped with the leader's
// name, term and a sequence. Pure: encode, decode (never throws: a bad value
// is an Error to log), and the fencing rule for which document to take.
import type { AdoptedHealth } from '../health/checker.ts'
import type { BackendHealth, HealthVerdict } from '../health/types.ts'
import { backendKey } from '../config/backend-key.ts'

export interface HealthDoc {
  readonly v: 1
  readonly leader: string // node name
  /** The leader's election key create revision: grows with every new leader. */
  readonly term: number
  readonly seq: number // 1, 2, ... within a term
  readonly at: number // epoch ms on the leader's clock (shown, never compared)
  readonly backends: Readonly<Record<string, AdoptedHealth>> // backendKey(pool, id) ->
}

/** A document from the leader's checker table. */
export function healthDoc(leader: string, term: number, seq: number, at: number, rows: readonly BackendHealth[]): HealthDoc {
  const backends: Record<string, AdoptedHealth> = {}
  for (const r of rows) backends[backendKey(r.pool, r.id)] = { verdict: r.verdict, check: r.check, changedAt: r.changedAt, slowstartSince: r.slowstartSince }
  return { v: 1, leader, term, seq, at, backends }
}

const VERDICTS: readonly HealthVerdict[] = ['up', 'down', 'unknown']
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x)

/** JSON text -> a HealthDoc, or an Error saying what is wrong (the value is ignored then). */
export function decodeHealthDoc(text: string): HealthDoc | Error {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    return new Error(`not JSON: ${(err as Error).message}`)
  }
  const d = raw as Partial<HealthDoc> | null
  if (d === null || typeof d !== 'object' || d.v !== 1) return new Error('not a version 1 health document')
  if (typeof d.leader !== 'string' || !isNum(d.term) || !isNum(d.seq) || !isNum(d.at)) return new Error('leader, term, seq or at missing')
  if (d.backends === null || typeof d.backends !== 'object') return new Error('backends missing')
  for (const [k, b] of Object.entries(d.backends)) {
    const ok = b !== null && typeof b === 'object' && VERDICTS.includes(b.verdict) && isNum(b.changedAt) && (b.slowstartSince === null || isNum(b.slowstartSince)) &&
      b.check !== null && typeof b.check === 'object' && (b.check.at === null || isNum(b.check.at))
    if (!ok) return new Error(`backend ${k}: malformed`)
  }
  return d as HealthDoc
}

/** The newest (term, seq) taken so far; term 0 = none. */
export interface Fence {
  readonly term: number
  readonly seq: number
}

/**
 * Take `doc` after `fence`? 'new' (a newer term, or the same term with a
 * higher seq), 'stale-term' (an older leader: a paused one that lost its
 * lease must not overwrite its successor) or 'seen' (nothing new).
 */
export function judge(fence: Fence, doc: Pick<HealthDoc, 'term' | 'seq'>): 'new' | 'stale-term' | 'seen' {
  if (doc.term < fence.term) return 'stale-term'
  if (doc.term > fence.term || doc.seq > fence.seq) return 'new'
  return 'seen'
}
