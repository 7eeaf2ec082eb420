// The primary seen through the admin API's contract (src/admin/model.ts):
// status documents, /healthz, operator changes and aggregated counters.
import type { AdminModel, FleetStatus, HealthzResult, MutationResult, StatusDoc } from '../admin/model.ts'
import type { AggregatedStats, FleetStats, WorkerTotals } from '../metrics/aggregated.ts'
import type { AdminState } from '../health/types.ts'
import { takesNewFlows } from '../health/state.ts'
import { formatHostPort } from '../net/ip.ts'
import { backendKey } from '../config/backend-key.ts'
import type { BackendSnapshot, HealthSnapshot } from '../health/snapshot.ts'
import type { Primary } from './primary.ts'
import { VERSION } from '../version.ts'
import type { EngineStats } from '../metrics/worker-stats.ts'


/**
 * The health snapshot version every up worker has applied: the lowest one any up
 * worker reported (workers report right after applying a snapshot); 0 when no
 * worker is up or none has reported yet.
 */
export function appliedVersion(slots: readonly { ready: boolean; snapshotVersion: number }[]): number {
  const up = slots.filter((w) => w.ready)
  return up.length === 0 ? 0 : Math.min(...up.map((w) => w.snapshotVersion))
}

export function adminModel(primary: Primary): AdminModel {
  const find = (id: string, pool?: string): string | MutationResult => {
    const hits = primary.config.pools.filter((p) => (pool === undefined || p.name === pool) && p.backends.some((b) => b.id === id))
    if (hits.length === 0) return 'not-found'
    if (hits.length > 1) return 'ambiguous'
    return backendKey(hits[0].name, id)
  }
  const mutate = (id: string, pool: string | undefined, apply: (k: string) => void): MutationResult => {
    const k = find(id, pool)
    if (k === 'not-found' || k === 'ambiguous' || k === 'ok') return k as MutationResult
    apply(k)
    primary.publish()
    return 'ok'
  }
  // Indexed once per snapshot: a scan per backend made /status O(backends²).
  let index: { snap: HealthSnapshot; byKey: Map<string, BackendSnapshot> } | null = null
  const stateOf = (pool: string, id: string): BackendSnapshot | undefined => {
    const snap = primary.snapshot
    if (index?.snap !== snap) index = { snap, byKey: new Map(snap.pools.flatMap((p) => p.backends.map((b) => [backendKey(p.name, b.id), b] as const))) }
    return index.byKey.get(backendKey(pool, id))
  }
  const listenerRows = (): StatusDoc['listeners'] => {
    const lstat = new Map(primary.workers.totals().listeners.map((l) => [l.name, l]))
    const slots = primary.workers.slots
    const live = slots.filter((w) => w.stats !== null)
    return primary.config.listeners.map((l) => {
      const s = lstat.get(l.name)
      const up = slots.length > 0 && slots.every((w) => w.ready) && live.every((w) => w.stats!.listeners.some((x) => x.name === l.name && x.listening))
      return { name: l.name, bind: formatHostPort(l.bind.host, l.bind.port), pool: l.pool, up, active: s?.active ?? 0, acceptedTotal: s?.accepted ?? 0 }
    })
  }

  return {
    status(): StatusDoc {
      const totals = primary.workers.totals()
      const health = primary.healthTable()
      const bstat = new Map(totals.backends.map((b) => [backendKey(b.pool, b.id), b]))
      const slots = primary.workers.slots
      const applied = appliedVersion(slots)
      return {
        version: VERSION,
        pid: process.pid,
        startedAt: primary.startedAt,
        generatedAt: Date.now(),
        healthVersion: primary.snapshot.version,
        appliedVersion: applied,
        converged: applied > 0 && applied >= primary.snapshot.version,
        config: { path: primary.configPath, loadedAt: primary.loadedAt, lastError: primary.lastReloadError },
        listeners: listenerRows(),
        pools: primary.config.pools.map((p) => ({
          name: p.name,
          policy: p.policy,
          backends: p.backends.map((b) => {
            const k = backendKey(p.name, b.id)
            const h = health.get(k)
            const s = bstat.get(k)
            const snap = stateOf(p.name, b.id)
            return {
              id: b.id,
              host: b.host,
              port: b.port,
              state: snap?.state ?? 'ready',
              adminState: primary.states.get(k) ?? 'ready',
              health: h?.verdict ?? 'unknown',
              weight: primary.weights.get(k) ?? b.weight,
              effectiveWeight: snap?.weight ?? b.weight,
              backup: b.backup,
              active: s?.active ?? 0,
              total: s?.total ?? 0,
              check: h?.check ?? { result: null, at: null },
              agent: h?.agent ?? null,
              observed: primary.observed.view(p.name, b.id),
            }
          }),
        })),
        workers: slots.map((w) => ({
          id: w.worker?.id ?? 0,
          pid: w.pid,
          up: w.ready,
          restarts: w.restarts,
          lastReportAt: w.lastReportAt,
          snapshotVersion: w.snapshotVersion,
          acceptedTotal: w.stats?.listeners.reduce((n, l) => n + l.accepted, 0) ?? 0,
          active: w.stats?.listeners.reduce((n, l) => n + l.active, 0) ?? 0,
          engine: w.stats?.engine?.engine ?? null,
          engineNote: w.stats?.engine?.note ?? null,
          nativeSessions: w.stats?.engine?.nativeSessions ?? 0,
        })),
        fleet: primary.fleetStatus?.() ?? null,
      }
    },

    healthz(): HealthzResult {
      // Listeners only: the whole status document lists every backend, too costly per probe.
      const listeners = listenerRows()
      const down = listeners.find((l) => !l.up)
      if (listeners.length === 0 || down) return { ok: false, reason: down ? `listener ${down.name} is not up` : 'no listener' }
      for (const l of primary.config.listeners) {
        const pool = primary.snapshot.pools.find((p) => p.name === l.pool)
        if (!pool?.backends.some(takesNewFlows)) return { ok: false, reason: `pool ${l.pool}: no backend can take traffic` }
      }
      return { ok: true, reason: 'ok' }
    },

    setState(id: string, state: AdminState, pool?: string): MutationResult {
      return mutate(id, pool, (k) => (state === 'ready' ? primary.states.delete(k) : primary.states.set(k, state)))
    },

    setWeight(id: string, weight: number, pool?: string): MutationResult {
      return mutate(id, pool, (k) => primary.weights.set(k, weight))
    },

    reload: () => primary.reload(),

    history: () => primary.history.doc(),

    stats(): AggregatedStats {
      const totals = primary.workers.totals()
      const health = primary.healthTable()
      const bstat = new Map(totals.backends.map((b) => [backendKey(b.pool, b.id), b]))
      return {
        backends: primary.config.pools.flatMap((p) =>
          p.backends.map((b) => {
            const k = backendKey(p.name, b.id)
            const s = bstat.get(k)
            const r = health.get(k)?.check.result
            const agent = health.get(k)?.agent ?? null
            const seen = primary.observed.view(p.name, b.id)
            return {
              pool: p.name,
              id: b.id,
              state: stateOf(p.name, b.id)?.state ?? 'ready',
              active: s?.active ?? 0,
              connectionsTotal: s?.total ?? 0,
              connectFailuresTotal: s?.connectFailures ?? 0,
              observedSuccessTotal: p.observe === 'none' ? null : (s?.observedOk ?? 0),
              observedFailuresTotal: p.observe === 'none' ? null : (s?.observedFailed ?? 0),
              bytesReceivedTotal: s?.bytesOut ?? 0, // from the backend
              bytesSentTotal: s?.bytesIn ?? 0, // client bytes to the backend
              checkDurationSeconds: r ? r.durationMs / 1000 : null,
              agentWeightPercent: agent === null ? null : (agent.percent ?? 100),
              agentPollsTotal: agent?.polls ?? null,
              agentIgnoredTotal: agent?.ignoredTotal ?? null,
              observedSuccessRatio: seen?.successRatio ?? null,
              observedWindowSuccess: seen?.ok ?? null,
              observedWindowFailures: seen?.failed ?? null,
            }
          }),
        ),
        listeners: totals.listeners.map((l) => ({ name: l.name, acceptedTotal: l.accepted, rejectedTotal: l.rejected + l.noBackend, proxyErrorsTotal: l.proxyErrors, active: l.active })),
        fleet: fleetStats(primary.fleetStatus?.() ?? null),
        pools: primary.config.pools.map((p) => {
          const s = totals.pools?.find((x) => x.pool === p.name)
          return { pool: p.name, retriesTotal: s?.retries ?? 0, retryOverflowsTotal: s?.retryOverflows ?? 0, queued: s?.queued ?? 0, dequeuedTotal: s?.dequeued ?? 0, queueWaitSecondsTotal: (s?.queueWaitMs ?? 0) / 1000, queueTimeoutsTotal: s?.queueTimeouts ?? 0, queueRefusedTotal: s?.queueRefused ?? 0, queueAbortedTotal: s?.queueAborted ?? 0 }
        }),
        workers: primary.workers.slots.map((w) => ({ id: w.worker?.id ?? 0, pid: w.pid, up: w.ready, restartsTotal: w.restarts, residentMemoryBytes: w.ready ? w.rss : null, cpuSecondsTotal: w.ready ? w.cpuSeconds : null, ...nativeOf(w.ready ? w.stats?.engine : undefined) })),
        healthVersion: primary.snapshot.version,
        configReloadsTotal: primary.reloadsOk,
        configReloadFailuresTotal: primary.reloadsFailed,
      }
    },
  }
}

/** The fleet gauges and counters for /metrics; null (no series) for a node outside a fleet. */
function fleetStats(f: FleetStatus | null): FleetStats | null {
  if (f === null) return null
  return {
    role: f.role, leaderTerm: f.leader?.term ?? null, configRevision: f.config.appliedRevision, configRejected: f.config.lastRejected !== null,
    configRejectionsTotal: f.config.rejectionsTotal, healthAgeSeconds: f.healthAgeMs === null ? null : f.healthAgeMs / 1000,
    fallbacksTotal: f.fallbacksTotal, fencedTotal: f.fencedTotal, storeReachable: f.store.reachable,
  }
}

/** A worker's native-engine counters for /metrics; null (no sample) before its first report. */
function nativeOf(e: EngineStats | undefined): Pick<WorkerTotals, 'nativeSessions' | 'nativeHandoffsTotal' | 'nativeConnectsTotal' | 'nativeFallbacksTotal' | 'nativeAcceptsTotal' | 'nativeAcceptBatchesTotal'> {
  return e === undefined
    ? { nativeSessions: null, nativeHandoffsTotal: null, nativeConnectsTotal: null, nativeFallbacksTotal: null, nativeAcceptsTotal: null, nativeAcceptBatchesTotal: null }
    : { nativeSessions: e.nativeSessions, nativeHandoffsTotal: e.handoffs, nativeConnectsTotal: e.connects, nativeFallbacksTotal: e.fallbacks, nativeAcceptsTotal: e.accepts ?? 0, nativeAcceptBatchesTotal: e.acceptBatches ?? 0 }
}
