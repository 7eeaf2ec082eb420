// The contract between the admin surface (HTTP API, /metrics, status page, CLI)
// and the cluster PRIMARY that owns config, health and the workers' counters.
// The primary implements AdminModel; src/admin/server.ts only reads it (and
// hands its `stats()` to src/metrics, whose AggregatedStats it returns). Every document here is plain JSON (no Dates, Maps or
// undefined): /status returns StatusDoc verbatim, and the CLI and the status
// page parse the same shape.
//
// Conventions:
// - times are epoch milliseconds (number) or null for "never";
// - counters (`...Total`) are monotonic since the primary started, summed
//   over all workers, including workers that have since died (the primary
//   keeps a dead worker's last report);
// - a backend is identified by (pool, id); the same id may appear in several
//   pools, which is why mutations take an optional pool.
import type { AdminState, BackendState, CheckStatus, HealthVerdict } from '../health/types.ts'
import type { AgentView } from '../health/agent-poller.ts'
import type { PolicyName } from '../config/types.ts'
import type { HistoryDoc } from '../history/types.ts'
import type { AggregatedStats } from '../metrics/aggregated.ts'

/** A backend's answers in its window: `successRatio` is ok / (ok + failed), null when there were none ("no data"). */
export interface ObservedWindow {
  readonly windowMs: number
  readonly ok: number
  readonly failed: number
  readonly successRatio: number | null
}

export interface ListenerStatus {
  readonly name: string
  readonly bind: string // "host:port" ("[v6]:port" for IPv6)
  readonly pool: string
  readonly up: boolean // listening in every live worker
  readonly active: number // open client connections, all workers
  readonly acceptedTotal: number
}

export interface BackendStatus {
  readonly id: string
  readonly host: string
  readonly port: number
  readonly state: BackendState // effective state (what pickers use)
  readonly adminState: AdminState // what the operator (or config) set
  readonly health: HealthVerdict // what the checks concluded
  readonly weight: number // configured or operator-set weight, 0..256
  readonly effectiveWeight: number // after slow start; equals weight when not ramping
  readonly backup: boolean
  readonly active: number // open connections to this backend, all workers
  readonly total: number // connections opened to it since start, all workers
  readonly check: CheckStatus // last active check result and its time
  readonly agent: AgentView | null // what its agent (agent check) said; null without one
  /**
   * observe http-connect: its CONNECT answers over the pool's observe-window,
   * all workers (successRatio null: no answer in the window, "no data");
   * null when the pool does not observe.
   */
  readonly observed: ObservedWindow | null
}

export interface PoolStatus {
  readonly name: string
  readonly policy: PolicyName
  readonly backends: readonly BackendStatus[]
}

export interface WorkerStatus {
  readonly id: number // cluster worker id (stable across its life, new for a replacement)
  readonly pid: number
  readonly up: boolean
  readonly restarts: number // replacements made for this worker slot
  readonly lastReportAt: number | null // last counters message over IPC
  readonly snapshotVersion: number // health snapshot version the worker applied (0 before any report)
  readonly acceptedTotal: number // connections this worker process accepted (all listeners)
  readonly active: number // connections open in this worker now
  readonly engine: 'js' | 'native' | null // what moves established connections' bytes (config `engine`); null before the first report
  readonly engineNote: string | null // why `auto`/`native` runs JavaScript (addon not built or not loadable)
  readonly nativeSessions: number // connections the native engine carries now
}

export interface ConfigStatus {
  readonly path: string | null // file the config was read from; null when built in (demo)
  readonly loadedAt: number // when the config in force was applied
  /** Last rejected reload; cleared by the next successful one. */
  readonly lastError: { readonly at: number; readonly errors: readonly string[] } | null
}

/** The fleet config part of FleetStatus (src/fleet/config-sync.ts). */
export interface FleetConfigStatus {
  readonly key: string
  readonly appliedRevision: number // mod revision of the shared part in force
  readonly appliedAt: number
  readonly source: 'store' | 'last-known-good'
  readonly storeRevision: number // newest revision of the key seen in the store (0: none seen)
  /** The last store value this node refused (cleared when a newer one applies); errors name key and revision. */
  readonly lastRejected: { readonly revision: number; readonly at: number; readonly errors: readonly string[] } | null
  readonly rejectionsTotal: number
  readonly lastKnownGoodError: string | null // why the last-known-good file could not be written
}

export type FleetRole = 'leader' | 'follower' | 'standalone'

/** The health part of FleetStatus (src/fleet/health-sync.ts). */
export interface FleetHealthStatus {
  readonly role: FleetRole
  /** Why a fleet node probes for itself (role standalone), else null. */
  readonly fallback: string | null
  readonly leader: { readonly node: string; readonly term: number } | null
  readonly lastResultAt: number | null // when this node last took (or, as leader, wrote) a new result
  readonly fence: { readonly term: number; readonly seq: number } // newest result taken
  readonly fallbacksTotal: number
  readonly fencedTotal: number // results ignored for an older term
  readonly publishedTotal: number // results written as leader
}

/** StatusDoc.fleet: this node in its fleet (docs/fleet.md). */
export interface FleetStatus extends FleetHealthStatus {
  readonly node: string
  readonly endpoints: readonly string[]
  readonly config: FleetConfigStatus
  readonly healthAgeMs: number | null // age of the newest health result taken or written
  /** atStart: why the node started from its last-known-good file, else null. */
  readonly store: { readonly reachable: boolean; readonly lastError: string | null; readonly atStart: string | null }
}

export interface StatusDoc {
  readonly version: string // l4lb package version
  readonly pid: number // primary's pid
  readonly startedAt: number
  readonly generatedAt: number // when this document was built (the page computes rates from it)
  readonly healthVersion: number // version of the last health snapshot published to workers
  /**
   * What the workers actually pick with: the lowest health snapshot version held
   * by any up worker (0 when no worker is up or none has reported). Backend
   * `state`s above are the primary's decision; they are in force on every worker
   * only once `appliedVersion` reaches `healthVersion`.
   */
  readonly appliedVersion: number
  readonly converged: boolean // at least one worker is up and every up worker holds healthVersion
  readonly config: ConfigStatus
  readonly listeners: readonly ListenerStatus[]
  readonly pools: readonly PoolStatus[]
  readonly workers: readonly WorkerStatus[]
  readonly fleet: FleetStatus | null // null: not in a fleet
}

/** Outcome of a runtime change; the server maps it to 200 / 404 / 409. */
export type MutationResult = 'ok' | 'not-found' | 'ambiguous'

export type ReloadResult = { readonly ok: true } | { readonly ok: false; readonly errors: readonly string[] }

export interface HealthzResult {
  readonly ok: boolean
  readonly reason: string // human text, e.g. "ok", "no listener up", "pool web: no backend can take traffic"
}

export interface AdminModel {
  /** Whole status document; cheap enough to call every second per open status page. */
  status(): StatusDoc
  /** ok only when every listener is up and at least one backend (per pool) can take traffic. */
  healthz(): HealthzResult
  /**
   * Set the operator state of backend `backendId`. With `pool` undefined the id must be
   * unique across pools ('ambiguous' otherwise). 'not-found' if no such backend (or pool).
   */
  setState(backendId: string, state: AdminState, pool?: string): MutationResult
  /** Set the weight (integer 0..256, already validated by the server). Same lookup as setState. */
  setWeight(backendId: string, weight: number, pool?: string): MutationResult
  /** Re-read and validate the config file; apply it when valid, else keep the old one. Never rejects. */
  reload(): Promise<ReloadResult>
  /** Counters and gauges summed across workers, for /metrics. */
  stats(): AggregatedStats
  /** Recent per-backend samples and the health timeline, for GET /history and the status page (bounded). */
  history(): HistoryDoc
}
