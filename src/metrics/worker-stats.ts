// Plain-JSON counters a worker reports to the primary (every second, over
// IPC); the primary sums them across workers for /status and /metrics.
import { backendKey } from '../config/backend-key.ts'

export interface BackendStats {
  readonly pool: string
  readonly id: string
  readonly active: number
  readonly total: number
  readonly connectFailures: number
  readonly observedOk: number // observe http-connect: 2xx answers
  readonly observedFailed: number // observe http-connect: 5xx (407 when configured) answers and answer timeouts
  readonly bytesIn: number // client bytes written to the backend (as the connection log's bytesIn)
  readonly bytesOut: number // bytes read from the backend, towards clients
}

export interface ListenerStats {
  readonly name: string
  readonly listening: boolean
  readonly active: number
  readonly accepted: number
  readonly rejected: number
  readonly proxyErrors: number
  readonly noBackend: number
}

/** One pool's retry and queue counters in one worker (retry-budget.ts, queueing.ts). */
export interface PoolStats {
  readonly pool: string
  readonly retries: number // failed connects retried on another backend
  readonly retryOverflows: number // failed connects not retried: the retry budget was spent
  readonly queued: number // gauge: clients waiting in the queue now
  readonly dequeued: number // clients that left the queue for a backend
  readonly queueWaitMs: number // time waited in the queue (dequeued and timed-out clients)
  readonly queueTimeouts: number // reset after timeouts.queue
  readonly queueRefused: number // found the queue full
  readonly queueAborted?: number // closed while waiting, with abort-on-close (absent from older workers' reports)
}

/** Which engine a worker runs (config `engine`) and its native pump's counters (0 on JavaScript). */
export interface EngineStats {
  readonly engine: 'js' | 'native'
  readonly note: string | null // why `auto`/`native` runs JavaScript: addon not built or not loadable
  readonly nativeSessions: number // sessions the pump owns now
  readonly handoffs: number // sessions handed to the pump since start
  readonly connects: number // of those, sessions whose backend the pump connected (stage 2)
  readonly fallbacks: number // sessions the pump could not take (they stayed on JavaScript)
  readonly accepts?: number // stage 3: clients the pump accepted (absent from older workers)
  readonly acceptBatches?: number // stage 3: crossings that answered them (one per batch)
}

export interface WorkerStats {
  readonly backends: readonly BackendStats[]
  readonly listeners: readonly ListenerStats[]
  readonly pools?: readonly PoolStats[] // absent: none to report (older workers, retired sums)
  readonly engine?: EngineStats // absent from a summed report
}

/** Sum worker reports by key (pool/id, listener name). */
export function sumStats(reports: Iterable<WorkerStats>): WorkerStats {
  const backends = new Map<string, BackendStats>()
  const listeners = new Map<string, ListenerStats>()
  const pools = new Map<string, PoolStats>()
  for (const r of reports) {
    for (const p of r.pools ?? []) {
      const o = pools.get(p.pool)
      pools.set(p.pool, o === undefined ? p : {
        pool: p.pool,
        retries: o.retries + p.retries,
        retryOverflows: o.retryOverflows + p.retryOverflows,
        queued: o.queued + p.queued,
        dequeued: o.dequeued + p.dequeued,
        queueWaitMs: o.queueWaitMs + p.queueWaitMs,
        queueTimeouts: o.queueTimeouts + p.queueTimeouts,
        queueRefused: o.queueRefused + p.queueRefused,
        queueAborted: (o.queueAborted ?? 0) + (p.queueAborted ?? 0),
      })
    }
    for (const b of r.backends) {
      const k = backendKey(b.pool, b.id)
      const o = backends.get(k)
      backends.set(
        k,
        o === undefined
          ? b
          : {
              pool: b.pool,
              id: b.id,
              active: o.active + b.active,
              total: o.total + b.total,
              connectFailures: o.connectFailures + b.connectFailures,
              observedOk: o.observedOk + b.observedOk,
              observedFailed: o.observedFailed + b.observedFailed,
              bytesIn: o.bytesIn + b.bytesIn,
              bytesOut: o.bytesOut + b.bytesOut,
            },
      )
    }
    for (const l of r.listeners) {
      const o = listeners.get(l.name)
      listeners.set(
        l.name,
        o === undefined
          ? l
          : {
              name: l.name,
              listening: o.listening && l.listening,
              active: o.active + l.active,
              accepted: o.accepted + l.accepted,
              rejected: o.rejected + l.rejected,
              proxyErrors: o.proxyErrors + l.proxyErrors,
              noBackend: o.noBackend + l.noBackend,
            },
      )
    }
  }
  return { backends: [...backends.values()], listeners: [...listeners.values()], pools: [...pools.values()] }
}
