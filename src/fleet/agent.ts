// A fleet node's control loops in the primary: config sync (config-sync.ts),
// health leadership (health-sync.ts) and this node's record in the store
// (`<prefix>/nodes/<node>`, on a lease: it disappears with the node), read by
// `l4lb fleet status`. Built by `l4lb run` when the file has `fleet:`.
import type { Etcd3, Lease } from 'etcd3'
import type { Logger } from 'pino'
import type { FleetConfig } from '../config/types.ts'
import type { Primary } from '../cluster/primary.ts'
import type { BootResult } from './boot.ts'
import type { FleetStatus } from '../admin/model.ts'
import { ConfigSync, type ConfigSyncStatus } from './config-sync.ts'
import { HealthSync, type HealthSyncStatus } from './health-sync.ts'
import { fleetKeys, storeError } from './store.ts'

/** What a node writes at `<prefix>/nodes/<node>` (JSON). */
export interface NodeRecord {
  readonly node: string
  readonly role: HealthSyncStatus['role']
  readonly fallback: string | null
  readonly appliedRevision: number
  readonly configSource: ConfigSyncStatus['source']
  readonly rejectedRevision: number | null
  readonly leader: HealthSyncStatus['leader']
  readonly healthAgeMs: number | null
  readonly fallbacksTotal: number
  readonly at: number
}

/** How often a node refreshes its record (ms). */
const RECORD_MS = 1000

export class FleetAgent {
  readonly fleet: FleetConfig
  readonly config: ConfigSync
  readonly health: HealthSync
  readonly #client: Etcd3
  readonly #log: Logger
  readonly #atStart: string | null
  #lease: Lease | null = null
  #timer: NodeJS.Timeout | null = null
  #stopping: Promise<void> | null = null

  constructor(opts: { client: Etcd3; fleet: FleetConfig; configPath: string; boot: Extract<BootResult, { ok: true }>; log: Logger }) {
    this.fleet = opts.fleet
    this.#client = opts.client
    this.#log = opts.log
    this.#atStart = opts.boot.storeProblem
    this.config = new ConfigSync({ client: opts.client, fleet: opts.fleet, configPath: opts.configPath, log: opts.log, boot: opts.boot.shared, rejected: opts.boot.rejected })
    this.health = new HealthSync({ client: opts.client, fleet: opts.fleet, log: opts.log })
    if (opts.boot.shared.fromLastKnownGood) opts.log.warn({ reason: opts.boot.storeProblem, stateFile: opts.fleet.stateFile }, 'fleet: started from the last-known-good config')
  }

  /** Start the loops for `primary` (its checker already adopted the boot health document). */
  start(primary: Primary): void {
    this.config.start(() => primary.reload())
    this.health.start()
    this.#timer = setInterval(() => void this.#writeRecord(), RECORD_MS)
    this.#timer.unref()
    void this.#writeRecord()
  }

  /** Resign leadership, drop the node record, close the client. Idempotent: the first call's promise. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      if (this.#timer !== null) clearInterval(this.#timer)
      await Promise.all([this.config.stop(), this.health.stop()])
      await this.#lease?.revoke().catch(() => {})
      this.#client.close()
    })()
    return this.#stopping
  }

  status(): FleetStatus {
    const h = this.health.status()
    const reachable = this.config.reachable && this.health.reachable
    return {
      ...h,
      node: this.fleet.node,
      endpoints: this.fleet.endpoints,
      config: this.config.status(),
      healthAgeMs: this.health.resultAgeMs(),
      store: { reachable, lastError: this.config.lastStoreError, atStart: this.#atStart },
    }
  }

  record(): NodeRecord {
    const s = this.status()
    return {
      node: s.node, role: s.role, fallback: s.fallback, appliedRevision: s.config.appliedRevision, configSource: s.config.source,
      rejectedRevision: s.config.lastRejected?.revision ?? null, leader: s.leader, healthAgeMs: s.healthAgeMs, fallbacksTotal: s.fallbacksTotal, at: Date.now(),
    }
  }

  async #writeRecord(): Promise<void> {
    try {
      if (this.#lease === null) {
        const lease = this.#client.lease(Math.round(this.fleet.leaseTtlMs / 1000))
        lease.on('lost', () => {
          if (this.#lease === lease) this.#lease = null
        })
        this.#lease = lease
      }
      await this.#lease.put(`${fleetKeys(this.fleet.prefix).nodes}${this.fleet.node}`).value(JSON.stringify(this.record())).exec()
    } catch (err) {
      const lease = this.#lease
      this.#lease = null
      lease?.revoke().catch(() => {})
      this.#log.debug({ err: storeError(err) }, 'fleet node record not written')
    }
  }
}
