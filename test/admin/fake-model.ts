// An in-memory AdminModel for admin/metrics/CLI tests. Two pools; backend id
// "shared" exists in both (for 'ambiguous'), "10.0.0.1:3128" and "a" in web only.
// Tests mutate `backends`, `listenersUp`, `reloadErrors` directly and read
// `calls` to see what the server asked for.
import type {
  AdminModel,
  BackendStatus,
  HealthzResult,
  MutationResult,
  ReloadResult,
  StatusDoc,
} from '../../src/admin/model.ts'
import type { AdminState, BackendState } from '../../src/health/types.ts'
import { History } from '../../src/history/recorder.ts'
import type { AggregatedStats } from '../../src/metrics/aggregated.ts'

export interface FakeBackend {
  pool: string
  id: string
  adminState: AdminState
  health: 'up' | 'down' | 'unknown'
  weight: number
  active: number
  total: number
  agent?: BackendStatus['agent'] // what its agent says; absent = no agent
  observed?: BackendStatus['observed'] // its CONNECT answers in the window; absent = its pool does not observe
}

export interface FakeModel extends AdminModel {
  backends: FakeBackend[]
  listenersUp: boolean
  reloadErrors: string[] | null // null: reload succeeds
  lastError: { at: number; errors: string[] } | null
  healthVersion: number
  readonly calls: string[]
  /** A real History the test feeds (sample, noteHealth, settle); /history serves its doc. */
  readonly recorder: History
}

function effective(b: FakeBackend): BackendState {
  if (b.adminState === 'maint') return 'maint'
  if (b.health === 'down') return 'down'
  return b.adminState
}

export function fakeModel(): FakeModel {
  const started = Date.now()
  const m: FakeModel = {
    backends: [
      { pool: 'web', id: '10.0.0.1:3128', adminState: 'ready', health: 'up', weight: 1, active: 3, total: 100 },
      { pool: 'web', id: 'a', adminState: 'ready', health: 'up', weight: 2, active: 0, total: 7 },
      { pool: 'web', id: 'shared', adminState: 'ready', health: 'unknown', weight: 1, active: 1, total: 1 },
      { pool: 'alt', id: 'shared', adminState: 'drain', health: 'up', weight: 1, active: 0, total: 0 },
    ],
    listenersUp: true,
    reloadErrors: null,
    lastError: null,
    healthVersion: 1,
    calls: [],
    recorder: new History(),
    history: () => m.recorder.doc(),

    status(): StatusDoc {
      const pools = ['web', 'alt'].map((name) => ({
        name,
        policy: name === 'web' ? ('maglev' as const) : ('round-robin' as const),
        backends: m.backends
          .filter((b) => b.pool === name)
          .map(
            (b): BackendStatus => ({
              id: b.id,
              host: '127.0.0.1',
              port: 3128,
              state: effective(b),
              adminState: b.adminState,
              health: b.health,
              weight: b.weight,
              effectiveWeight: b.weight,
              backup: false,
              active: b.active,
              total: b.total,
              check: {
                result: { ok: b.health !== 'down', durationMs: 1.5, detail: b.health === 'down' ? 'connect ECONNREFUSED' : 'L4OK' },
                at: Date.now() - 2000,
              },
              agent: b.agent ?? null,
              observed: b.observed ?? null,
            }),
          ),
      }))
      return {
        fleet: null,
        version: '0.1.0-test',
        pid: process.pid,
        startedAt: started,
        generatedAt: Date.now(),
        healthVersion: m.healthVersion,
        appliedVersion: m.healthVersion,
        converged: true,
        config: { path: '/etc/l4lb.yaml', loadedAt: started, lastError: m.lastError },
        listeners: [{ name: 'main', bind: '127.0.0.1:8080', pool: 'web', up: m.listenersUp, active: 4, acceptedTotal: 108 }],
        pools,
        workers: [
          { id: 1, pid: 1001, up: true, restarts: 0, lastReportAt: Date.now(), snapshotVersion: 3, acceptedTotal: 60, active: 2, engine: 'native', engineNote: null, nativeSessions: 2 },
          { id: 2, pid: 1002, up: true, restarts: 2, lastReportAt: Date.now(), snapshotVersion: 3, acceptedTotal: 48, active: 2, engine: 'native', engineNote: null, nativeSessions: 2 },
        ],
      }
    },
    healthz(): HealthzResult {
      if (!m.listenersUp) return { ok: false, reason: 'listener main is not up' }
      if (!m.backends.some((b) => effective(b) === 'ready')) return { ok: false, reason: 'no backend can take traffic' }
      return { ok: true, reason: 'ok' }
    },
    setState(id: string, state: AdminState, pool?: string): MutationResult {
      m.calls.push(`state ${id} ${state} ${pool ?? '-'}`)
      return mutate(id, pool, (b) => (b.adminState = state))
    },
    setWeight(id: string, weight: number, pool?: string): MutationResult {
      m.calls.push(`weight ${id} ${weight} ${pool ?? '-'}`)
      return mutate(id, pool, (b) => (b.weight = weight))
    },
    async reload(): Promise<ReloadResult> {
      m.calls.push('reload')
      if (m.reloadErrors === null) {
        m.lastError = null
        return { ok: true }
      }
      m.lastError = { at: Date.now(), errors: m.reloadErrors }
      return { ok: false, errors: m.reloadErrors }
    },
    stats(): AggregatedStats {
      return {
        // A fleet follower's numbers, so every l4lb_fleet_* series has a sample.
        fleet: { role: 'follower', leaderTerm: 7, configRevision: 12, configRejected: false, configRejectionsTotal: 1, healthAgeSeconds: 0.2, fallbacksTotal: 2, fencedTotal: 0, storeReachable: true },
        backends: m.backends.map((b, i) => ({
          pool: b.pool,
          id: b.id,
          state: effective(b),
          active: b.active,
          connectionsTotal: b.total,
          connectFailuresTotal: i,
          bytesReceivedTotal: 1000 * b.total,
          bytesSentTotal: 10 * b.total,
          checkDurationSeconds: i === 3 ? null : 0.0015,
          agentWeightPercent: i === 0 ? 75 : null,
          agentPollsTotal: i === 0 ? 12 : null,
          agentIgnoredTotal: i === 0 ? 2 : null,
          observedSuccessTotal: i === 0 ? 30 : null,
          observedFailuresTotal: i === 0 ? 3 : null,
          observedSuccessRatio: i === 0 ? 0.8 : null,
          observedWindowSuccess: i === 0 ? 8 : null,
          observedWindowFailures: i === 0 ? 2 : null,
        })),
        listeners: [{ name: 'main', acceptedTotal: 108, rejectedTotal: 2, proxyErrorsTotal: 1, active: 4 }],
        pools: [{ pool: 'web', retriesTotal: 7, retryOverflowsTotal: 2, queued: 3, dequeuedTotal: 40, queueWaitSecondsTotal: 1.5, queueTimeoutsTotal: 1, queueRefusedTotal: 4, queueAbortedTotal: 2 }],
        workers: [
          { id: 1, pid: 1001, up: true, restartsTotal: 0, residentMemoryBytes: 50e6, cpuSecondsTotal: 1.25, nativeSessions: 2, nativeHandoffsTotal: 60, nativeConnectsTotal: 60, nativeFallbacksTotal: 0, nativeAcceptsTotal: 60, nativeAcceptBatchesTotal: 12 },
          { id: 2, pid: 1002, up: false, restartsTotal: 2, residentMemoryBytes: null, cpuSecondsTotal: null, nativeSessions: null, nativeHandoffsTotal: null, nativeConnectsTotal: null, nativeFallbacksTotal: null, nativeAcceptsTotal: null, nativeAcceptBatchesTotal: null },
        ],
        healthVersion: m.healthVersion,
        configReloadsTotal: 3,
        configReloadFailuresTotal: 1,
      }
    },
  }
  function mutate(id: string, pool: string | undefined, f: (b: FakeBackend) => void): MutationResult {
    const found = m.backends.filter((b) => b.id === id && (pool === undefined || b.pool === pool))
    if (found.length === 0) return 'not-found'
    if (found.length > 1) return 'ambiguous'
    f(found[0])
    return 'ok'
  }
  return m
}
