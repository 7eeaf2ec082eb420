// What the health leader publishes at `<prefix>/health`: every backend's
// decided verdict with its last check result and, for backends with an agent
// check, the agent's view, stamped with the leader's name, term and a
// sequence. Pure: encode, decode (never throws: a bad value is an Error to
// log), and the fencing rule for which document to take.
//
// Format: `v` is the major version; a reader refuses any other. Fields are
// only ever added, optional, so readers of either age keep working:
// - `agents` (backendKey -> the agent's view): written by a leader that polls
//   the agents for the fleet (an empty object when no backend has an agent).
//   A document without it comes from a leader that does not (an older l4lb):
//   its followers poll their agents themselves. Older readers ignore it.
// - `acked`: the highest seq of this term whose write the leader saw
//   committed before it composed this document (0: none yet). A write the
//   leader gave up on (a timeout while the store had no quorum) can still be
//   committed later, after the store is back, carrying what the leader knew
//   while cut off; `acked` lets a node that fell back tell such a late
//   document from one composed in contact with the store (see rejoin()).
import type { AdoptedHealth } from '../health/checker.ts'
import { sharedView, type SharedAgentView } from '../health/agent-poller.ts'
import { MAX_AGENT_LINE } from '../health/agent-line.ts'
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
  /** backendKey(pool, id) -> its agent's view; absent: the leader does not poll agents for the fleet. */
  readonly agents?: Readonly<Record<string, SharedAgentView>>
  /** The highest seq of this term the leader saw committed before composing this one; absent from an older l4lb. */
  readonly acked?: number
}

/** A document from the leader's checker table (agents: every row with an agent view). */
export function healthDoc(leader: string, term: number, seq: number, at: number, rows: readonly BackendHealth[], acked = 0): HealthDoc {
  const backends: Record<string, AdoptedHealth> = {}
  const agents: Record<string, SharedAgentView> = {}
  for (const r of rows) {
    const k = backendKey(r.pool, r.id)
    backends[k] = { verdict: r.verdict, check: r.check, changedAt: r.changedAt, slowstartSince: r.slowstartSince }
    if (r.agent !== null) agents[k] = sharedView(r.agent)
  }
  return { v: 1, leader, term, seq, at, backends, agents, acked }
}

const VERDICTS: readonly HealthVerdict[] = ['up', 'down', 'unknown']
const ADMINS: readonly string[] = ['ready', 'drain', 'maint']
/** Bounds on an agent view's strings: its address (host:port), and a logged reason (a line quoted in it). */
const MAX_ADDRESS = 300
const MAX_REASON = 4 * MAX_AGENT_LINE
const MAX_PERCENT = 25_600
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x)
const isText = (x: unknown, max: number): x is string => typeof x === 'string' && x.length <= max

/** What is wrong with one published agent view, or null when it is well formed. */
function agentProblem(a: unknown): string | null {
  if (a === null || typeof a !== 'object' || Array.isArray(a)) return 'not an object'
  const v = a as Record<string, unknown>
  if (!isText(v.address, MAX_ADDRESS) || v.address === '') return `address must be a host:port string of at most ${MAX_ADDRESS} characters`
  if (typeof v.down !== 'boolean') return 'down must be true or false'
  if (typeof v.admin !== 'string' || !ADMINS.includes(v.admin)) return `admin must be ready, drain or maint, not ${JSON.stringify(v.admin) ?? 'missing'}`
  if (v.percent !== null && !(Number.isInteger(v.percent) && (v.percent as number) >= 0 && (v.percent as number) <= MAX_PERCENT)) return `percent must be null or an integer 0..${MAX_PERCENT}`
  if (v.line !== null && !isText(v.line, MAX_AGENT_LINE)) return `line must be null or a string of at most ${MAX_AGENT_LINE} characters`
  if (v.lineAt !== null && !isNum(v.lineAt)) return 'lineAt must be null or epoch ms'
  if (v.ignored !== null && !isText(v.ignored, MAX_REASON)) return `ignored must be null or a string of at most ${MAX_REASON} characters`
  return null
}

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
  if (d.acked !== undefined && !(Number.isInteger(d.acked) && d.acked >= 0 && d.acked < d.seq)) return new Error('acked must be an integer from 0 to seq - 1')
  if (d.backends === null || typeof d.backends !== 'object') return new Error('backends missing')
  for (const [k, b] of Object.entries(d.backends)) {
    const ok = b !== null && typeof b === 'object' && VERDICTS.includes(b.verdict) && isNum(b.changedAt) && (b.slowstartSince === null || isNum(b.slowstartSince)) &&
      b.check !== null && typeof b.check === 'object' && (b.check.at === null || isNum(b.check.at))
    if (!ok) return new Error(`backend ${k}: malformed`)
  }
  if (d.agents !== undefined) {
    if (d.agents === null || typeof d.agents !== 'object' || Array.isArray(d.agents)) return new Error('agents must be an object of agent views by backend')
    for (const [k, a] of Object.entries(d.agents)) {
      const problem = agentProblem(a)
      if (problem !== null) return new Error(`agent of backend ${k}: ${problem}`)
    }
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

/** A node that fell back: the first document it took since (term, seq), or null before any. */
export type Rejoin = Fence | null

/**
 * May a node that fell back (standalone after stale results or a lost
 * leadership) follow the leader again on `doc`, a document newer than its
 * fence? Results "flow again" only when the leader composed `doc` after it saw
 * a write commit that this node saw arrive since its fallback: `doc.acked` >=
 * the seq of the first document of the same term taken since (`since`). A
 * document the leader composed while cut off from the store and that was
 * committed late (etcd commits a proposal its leader-member held once quorum
 * is back, after the client gave up on it) carries an older `acked` and is
 * not followed, however many arrive; the one after the leader's next
 * confirmed write is. A document without `acked` (an older l4lb leader): the
 * second one of the term since the fallback.
 * Returns whether to follow and the `since` to keep.
 */
export function rejoin(since: Rejoin, doc: Pick<HealthDoc, 'term' | 'seq' | 'acked'>): { follow: boolean; since: Fence } {
  if (since === null || doc.term !== since.term) return { follow: false, since: { term: doc.term, seq: doc.seq } }
  const follow = doc.acked === undefined ? doc.seq > since.seq : doc.acked >= since.seq
  return { follow, since }
}
