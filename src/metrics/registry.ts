// Renders the primary's AggregatedStats as Prometheus text with prom-client.
// Each metric has a collect() callback that reads the stats at scrape time,
// so values are always current and nothing has to be pushed into prom-client
// between scrapes. Workers' totals arrive pre-summed from the model; a
// counter is therefore reset and set to the model's total on each scrape
// (prom-client counters only `inc`). One registry per admin server: tests
// can run several side by side.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import type { AggregatedStats, StatsSource } from './aggregated.ts'
import { BACKEND_STATES, FLEET_ROLES, METRICS, PROCESS_METRICS_PREFIX, type MetricName } from './names.ts'

type Labels = Record<string, string>
type Sample = readonly [Labels, number]
type Extract = (s: AggregatedStats) => Sample[]

const be = (s: AggregatedStats, f: (b: AggregatedStats['backends'][number]) => number | null): Sample[] =>
  s.backends.flatMap((b) => {
    const v = f(b)
    return v === null ? [] : [[{ pool: b.pool, backend: b.id }, v] as const]
  })
const li = (s: AggregatedStats, f: (l: AggregatedStats['listeners'][number]) => number): Sample[] =>
  s.listeners.map((l) => [{ listener: l.name }, f(l)] as const)
const po = (s: AggregatedStats, f: (p: AggregatedStats['pools'][number]) => number): Sample[] =>
  s.pools.map((p) => [{ pool: p.pool }, f(p)] as const)
const wo = (s: AggregatedStats, f: (w: AggregatedStats['workers'][number]) => number | null): Sample[] =>
  s.workers.flatMap((w) => {
    const v = f(w)
    return v === null ? [] : [[{ worker: String(w.id) }, v] as const]
  })

/** How each declared metric is read from the stats; the type forces one entry per name. */
const EXTRACT: Record<keyof typeof METRICS, Extract> = {
  backendActive: (s) => be(s, (b) => b.active),
  backendConnections: (s) => be(s, (b) => b.connectionsTotal),
  backendConnectFailures: (s) => be(s, (b) => b.connectFailuresTotal),
  backendObservedSuccess: (s) => be(s, (b) => b.observedSuccessTotal),
  backendObservedFailures: (s) => be(s, (b) => b.observedFailuresTotal),
  backendObservedSuccessRatio: (s) => be(s, (b) => b.observedSuccessRatio),
  backendObservedWindowSuccess: (s) => be(s, (b) => b.observedWindowSuccess),
  backendObservedWindowFailures: (s) => be(s, (b) => b.observedWindowFailures),
  backendBytesReceived: (s) => be(s, (b) => b.bytesReceivedTotal),
  backendBytesSent: (s) => be(s, (b) => b.bytesSentTotal),
  backendState: (s) =>
    s.backends.flatMap((b) =>
      BACKEND_STATES.map((st) => [{ pool: b.pool, backend: b.id, state: st }, b.state === st ? 1 : 0] as const),
    ),
  backendCheckDuration: (s) => be(s, (b) => b.checkDurationSeconds),
  backendAgentWeightPercent: (s) => be(s, (b) => b.agentWeightPercent),
  backendAgentPolls: (s) => be(s, (b) => b.agentPollsTotal),
  backendAgentIgnored: (s) => be(s, (b) => b.agentIgnoredTotal),
  listenerAccepted: (s) => li(s, (l) => l.acceptedTotal),
  listenerRejected: (s) => li(s, (l) => l.rejectedTotal),
  listenerProxyErrors: (s) => li(s, (l) => l.proxyErrorsTotal),
  listenerActive: (s) => li(s, (l) => l.active),
  poolRetries: (s) => po(s, (p) => p.retriesTotal),
  poolRetryOverflow: (s) => po(s, (p) => p.retryOverflowsTotal),
  poolQueueLength: (s) => po(s, (p) => p.queued),
  poolQueueDequeued: (s) => po(s, (p) => p.dequeuedTotal),
  poolQueueWait: (s) => po(s, (p) => p.queueWaitSecondsTotal),
  poolQueueTimeouts: (s) => po(s, (p) => p.queueTimeoutsTotal),
  poolQueueAborted: (s) => po(s, (p) => p.queueAbortedTotal),
  poolQueueRefused: (s) => po(s, (p) => p.queueRefusedTotal),
  workerRestarts: (s) => wo(s, (w) => w.restartsTotal),
  workerUp: (s) => wo(s, (w) => (w.up ? 1 : 0)),
  workerResidentMemory: (s) => wo(s, (w) => w.residentMemoryBytes),
  workerCpuSeconds: (s) => wo(s, (w) => w.cpuSecondsTotal),
  workerNativeSessions: (s) => wo(s, (w) => w.nativeSessions),
  workerNativeHandoffs: (s) => wo(s, (w) => w.nativeHandoffsTotal),
  workerNativeConnects: (s) => wo(s, (w) => w.nativeConnectsTotal),
  workerNativeFallbacks: (s) => wo(s, (w) => w.nativeFallbacksTotal),
  workerNativeAccepts: (s) => wo(s, (w) => w.nativeAcceptsTotal),
  workerNativeAcceptBatches: (s) => wo(s, (w) => w.nativeAcceptBatchesTotal),
  healthSnapshotVersion: (s) => [[{}, s.healthVersion]],
  configReloads: (s) => [[{}, s.configReloadsTotal]],
  configReloadFailures: (s) => [[{}, s.configReloadFailuresTotal]],
  fleetRole: (s) => (s.fleet === null ? [] : FLEET_ROLES.map((r) => [{ role: r }, s.fleet?.role === r ? 1 : 0])),
  fleetLeaderTerm: (s) => (s.fleet?.leaderTerm == null ? [] : [[{}, s.fleet.leaderTerm]]),
  fleetConfigRevision: (s) => (s.fleet === null ? [] : [[{}, s.fleet.configRevision]]),
  fleetConfigRejected: (s) => (s.fleet === null ? [] : [[{}, s.fleet.configRejected ? 1 : 0]]),
  fleetConfigRejections: (s) => (s.fleet === null ? [] : [[{}, s.fleet.configRejectionsTotal]]),
  fleetHealthAge: (s) => (s.fleet?.healthAgeSeconds == null ? [] : [[{}, s.fleet.healthAgeSeconds]]),
  fleetFallbacks: (s) => (s.fleet === null ? [] : [[{}, s.fleet.fallbacksTotal]]),
  fleetFenced: (s) => (s.fleet === null ? [] : [[{}, s.fleet.fencedTotal]]),
  fleetStoreUp: (s) => (s.fleet === null ? [] : [[{}, s.fleet.storeReachable ? 1 : 0]]),
}

export interface MetricsRenderer {
  readonly contentType: string
  /** Prometheus text exposition of the current stats plus process metrics. */
  render(): Promise<string>
}

/** Build a registry reading `model` at each scrape. `processMetrics: false` leaves out prom-client's defaults. */
export function createMetrics(model: StatsSource, opts: { processMetrics?: boolean } = {}): MetricsRenderer {
  const registry = new Registry()
  // One stats() call per scrape: render() takes a snapshot that every collect() reads.
  let snapshot: AggregatedStats | null = null
  const current = (): AggregatedStats => snapshot ?? model.stats()

  for (const [key, def] of Object.entries(METRICS) as [keyof typeof METRICS, MetricName][]) {
    const extract = EXTRACT[key]
    const labelNames = [...def.labels]
    if (def.type === 'counter') {
      new Counter({
        name: def.name,
        help: def.help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset()
          for (const [labels, v] of extract(current())) this.inc(labels, Math.max(0, v))
        },
      })
    } else {
      new Gauge({
        name: def.name,
        help: def.help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset()
          for (const [labels, v] of extract(current())) this.set(labels, v)
        },
      })
    }
  }
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: PROCESS_METRICS_PREFIX })

  return {
    contentType: registry.contentType,
    async render(): Promise<string> {
      snapshot = model.stats()
      try {
        return await registry.metrics()
      } finally {
        snapshot = null
      }
    },
  }
}
