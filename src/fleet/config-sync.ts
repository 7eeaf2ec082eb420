// Fleet config: push (a watch on the config key) and pull (a full read every
// poll interval, ±20% jitter, in case a watch silently stalls). Each new
// revision goes through the primary's reload: the same validated,
// all-or-nothing path as SIGHUP. A value the node refuses keeps the old config
// serving and is recorded with its key and revision; an applied one is
// written to the last-known-good file.
import type { Etcd3, Watcher } from 'etcd3'
import type { Logger } from 'pino'
import type { ConfigResult, FleetConfig } from '../config/types.ts'
import type { FleetConfigStatus } from '../admin/model.ts'
import type { ReloadOutcome } from '../cluster/primary.ts'
import { CODES } from '../errors.ts'
import { composeConfig } from './compose.ts'
import { readLocal, type BootShared } from './boot.ts'
import { writeLastKnownGood } from './lkg.ts'
import { fleetKeys, storeError } from './store.ts'

export type ConfigSyncStatus = FleetConfigStatus

interface Shared {
  readonly text: string
  readonly revision: number
}

export class ConfigSync {
  readonly #client: Etcd3
  readonly #fleet: FleetConfig
  readonly #path: string
  readonly #log: Logger
  readonly #key: string
  #reload: () => Promise<ReloadOutcome> = async () => ({ ok: false, errors: ['not attached'] })
  #applied: Shared
  #appliedAt = Date.now()
  #source: 'store' | 'last-known-good'
  #candidate: Shared | null = null
  #seen = 0
  #storeRevision = 0
  #rejected: ConfigSyncStatus['lastRejected'] = null
  #rejections = 0
  #lkgError: string | null = null
  #queue: Promise<void> = Promise.resolve()
  #watcher: Watcher | null = null
  #pollTimer: NodeJS.Timeout | null = null
  #stopped = false
  /** Store reachability as the last read saw it; the agent reads it. */
  reachable = true
  lastStoreError: string | null = null

  constructor(opts: { client: Etcd3; fleet: FleetConfig; configPath: string; log: Logger; boot: BootShared; rejected: { revision: number; errors: string[] } | null }) {
    this.#client = opts.client
    this.#fleet = opts.fleet
    this.#path = opts.configPath
    this.#log = opts.log
    this.#key = fleetKeys(opts.fleet.prefix).config
    this.#applied = { text: opts.boot.text, revision: opts.boot.revision }
    this.#source = opts.boot.fromLastKnownGood ? 'last-known-good' : 'store'
    this.#seen = opts.boot.revision
    this.#storeRevision = opts.boot.fromLastKnownGood ? 0 : opts.boot.revision
    if (opts.rejected !== null) {
      this.#rejected = { ...opts.rejected, at: Date.now() }
      this.#rejections++
      this.#seen = Math.max(this.#seen, opts.rejected.revision)
    }
  }

  /**
   * The primary's reload loader: the file's local part composed with the
   * shared part being tried (or the one in force). A changed `fleet:` section
   * is refused: the agent's connections were made from the old one.
   */
  readonly load = async (): Promise<ConfigResult> => {
    const local = await readLocal(this.#path)
    if (!local.ok) return local.result
    if (JSON.stringify(local.config.fleet) !== JSON.stringify(this.#fleet)) {
      return { ok: false, code: CODES.LB_ERR_CONFIG_INVALID, errors: [{ path: 'fleet', message: 'the fleet section cannot change by a reload; restart l4lb to apply it' }] }
    }
    const shared = this.#candidate ?? this.#applied
    return composeConfig(local.raw, this.#fleet, shared.text, { key: this.#key, revision: shared.revision })
  }

  start(reload: () => Promise<ReloadOutcome>): void {
    this.#reload = reload
    if (this.#source === 'store') this.#queue = this.#keep(this.#applied)
    this.#watch()
    this.#schedulePoll(0)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#pollTimer !== null) clearTimeout(this.#pollTimer)
    await this.#watcher?.cancel().catch(() => {})
    await this.#queue
  }

  status(): ConfigSyncStatus {
    return {
      key: this.#key, appliedRevision: this.#applied.revision, appliedAt: this.#appliedAt, source: this.#source,
      storeRevision: this.#storeRevision, lastRejected: this.#rejected, rejectionsTotal: this.#rejections, lastKnownGoodError: this.#lkgError,
    }
  }

  #watch(): void {
    if (this.#stopped || this.#watcher !== null) return
    this.#client.watch().key(this.#key).create().then((w) => {
      if (this.#stopped) return void w.cancel().catch(() => {})
      this.#watcher = w
      w.on('put', (kv) => this.offer(kv.value.toString(), Number(kv.mod_revision)))
      w.on('error', (err) => this.#log.warn({ err: storeError(err) }, 'fleet config watch failed; polling goes on'))
    }, (err: unknown) => this.#log.warn({ err: storeError(err) }, 'fleet config watch could not start; polling goes on'))
  }

  #schedulePoll(delayMs: number): void {
    if (this.#stopped) return
    this.#pollTimer = setTimeout(() => void this.#poll(), delayMs)
    this.#pollTimer.unref()
  }

  async #poll(): Promise<void> {
    try {
      const r = await this.#client.get(this.#key).exec()
      this.reachable = true
      this.lastStoreError = null
      const kv = r.kvs[0]
      if (kv !== undefined) this.offer(kv.value.toString(), Number(kv.mod_revision))
      this.#watch() // (re)start a watch that could not start while the store was down
    } catch (err) {
      this.reachable = false
      this.lastStoreError = storeError(err)
    }
    const jitter = 0.8 + Math.random() * 0.4
    this.#schedulePoll(this.#fleet.pollIntervalMs * jitter)
  }

  /** A value of the config key at `revision`: applied once (older or seen revisions are ignored). */
  offer(text: string, revision: number): void {
    this.#storeRevision = Math.max(this.#storeRevision, revision)
    // Started from the last-known-good file, and the store holds that same value: it is the store's again.
    if (this.#source === 'last-known-good' && revision === this.#applied.revision && text === this.#applied.text) {
      this.#source = 'store'
      this.#log.info({ key: this.#key, revision }, 'fleet store reachable again: the last-known-good config is its current value')
      return
    }
    if (this.#stopped || revision <= this.#seen) return
    this.#seen = revision
    this.#queue = this.#queue.then(() => this.#apply({ text, revision }))
  }

  async #apply(shared: Shared): Promise<void> {
    if (this.#stopped) return
    this.#candidate = shared
    const out = await this.#reload().catch((err: unknown) => ({ ok: false as const, errors: [String(err)] }))
    this.#candidate = null
    if (!out.ok) {
      this.#rejected = { revision: shared.revision, at: Date.now(), errors: out.errors }
      this.#rejections++
      this.#log.error({ code: CODES.LB_ERR_RELOAD_REJECTED, key: this.#key, revision: shared.revision, errors: out.errors }, 'fleet config rejected; the running config keeps serving')
      return
    }
    this.#applied = shared
    this.#appliedAt = Date.now()
    this.#source = 'store'
    this.#rejected = null
    this.#log.info({ key: this.#key, revision: shared.revision }, 'fleet config applied')
    await this.#keep(shared)
  }

  async #keep(shared: Shared): Promise<void> {
    try {
      await writeLastKnownGood(this.#fleet.stateFile, { key: this.#key, revision: shared.revision, text: shared.text })
      this.#lkgError = null
    } catch (err) {
      this.#lkgError = `${this.#fleet.stateFile}: ${storeError(err)}`
      this.#log.warn({ err: this.#lkgError }, 'could not write the last-known-good fleet config')
    }
  }
}
