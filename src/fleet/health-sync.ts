// One health leader for the fleet: every node campaigns in an etcd election
// (etcd3's Election, on a lease of fleet.lease-ttl). The leader runs the
// active probes (the node's own HealthChecker and dampener) and publishes its
// table at `<prefix>/health`, on every change and at least every third of
// fleet.stale-after, with a compare on its own election key (a leader whose
// lease expired cannot write). Every other node watches (and polls) that key
// and adopts the verdicts of the newest term; it stops probing while results
// flow, and probes for itself when they go stale or the store is
// unreachable, until they flow again. Passive ejection stays local.
// Agent checks go the same way: the leader polls the agents and publishes
// their views; a follower stops polling and adopts them, and polls again on
// a fallback (or while the leader's documents carry no agent views).
import type { Campaign, Etcd3, Watcher } from 'etcd3'
import type { Logger } from 'pino'
import type { FleetConfig } from '../config/types.ts'
import type { FleetHealthStatus, FleetRole } from '../admin/model.ts'
import type { HealthChecker } from '../health/checker.ts'
import { decodeHealthDoc, healthDoc, judge, rejoin, type Fence, type HealthDoc, type Rejoin } from './health-doc.ts'
import { fleetKeys, storeError } from './store.ts'
import { monoMs } from '../mono.ts'

export type { FleetRole }
export type HealthSyncStatus = FleetHealthStatus

/** Campaign again this long after a lost or failed campaign (ms). */
const RECAMPAIGN_MS = 500

export class HealthSync {
  readonly #client: Etcd3
  readonly #fleet: FleetConfig
  readonly #log: Logger
  readonly #keys: ReturnType<typeof fleetKeys>
  #checker: HealthChecker | null = null
  #role: FleetRole = 'standalone'
  #fallback: string | null = 'no leader results yet'
  #fence: Fence = { term: 0, seq: 0 }
  #leader: HealthSyncStatus['leader'] = null
  #lastResultAt: number | null = null // wall clock, for /status
  #lastResultMono: number | null = null // monoMs() of the same moment: the age that decides staleness
  #fallbacks = 0
  #fenced = 0
  #published = 0
  #campaign: Campaign | null = null
  #campaignKey = ''
  #term = 0
  #seq = 0
  /** The highest seq of this term whose write this leader saw committed (published in each document). */
  #acked = 0
  #publishing = false
  #dirty = false
  #watcher: Watcher | null = null
  #timers: NodeJS.Timeout[] = []
  #stopped = false
  /**
   * After a fallback, the first document taken since (null: none yet). A new
   * document may have been composed before or during the outage and
   * committed only now; following resumes on one the leader composed after a
   * confirmed write (rejoin() in health-doc.ts), so no verdict flaps back and
   * forth.
   */
  #rejoin: Rejoin = null
  #publishFailing = false
  /** Store reachability as the last health read saw it. */
  reachable = true

  constructor(opts: { client: Etcd3; fleet: FleetConfig; log: Logger }) {
    this.#client = opts.client
    this.#fleet = opts.fleet
    this.#log = opts.log
    this.#keys = fleetKeys(opts.fleet.prefix)
  }

  /** Before the checker starts: adopt the store's current results (a late joiner follows at once). */
  attach(checker: HealthChecker, current: HealthDoc | null): void {
    this.#checker = checker
    if (current !== null) this.#take(current)
  }

  start(): void {
    // The boot document was taken before the workers started: its age counts from now.
    if (this.#role === 'follower') this.#tookResult()
    const every = (ms: number, fn: () => void): void => {
      const t = setInterval(fn, ms)
      t.unref()
      this.#timers.push(t)
    }
    const beat = Math.max(50, Math.floor(this.#fleet.staleAfterMs / 3))
    every(beat, () => {
      if (this.#role === 'leader') this.publish()
      else void this.#poll()
    })
    every(Math.max(25, Math.floor(this.#fleet.staleAfterMs / 8)), () => this.#checkStale())
    this.#watch()
    this.#campaignNow()
  }

  async stop(): Promise<void> {
    this.#stopped = true
    for (const t of this.#timers) clearInterval(t)
    await this.#watcher?.cancel().catch(() => {})
    const c = this.#campaign
    this.#campaign = null
    // Resign: the next leader takes over now instead of after the lease TTL.
    await c?.resign().catch(() => {})
  }

  status(): HealthSyncStatus {
    return {
      role: this.#role, fallback: this.#role === 'standalone' ? this.#fallback : null, leader: this.#leader, lastResultAt: this.#lastResultAt,
      fence: this.#fence, fallbacksTotal: this.#fallbacks, fencedTotal: this.#fenced, publishedTotal: this.#published,
    }
  }

  /** A local health change: the leader publishes it at once (batched with others in flight). */
  publish(): void {
    if (this.#role !== 'leader' || this.#checker === null) return
    if (this.#publishing) {
      this.#dirty = true
      return
    }
    this.#publishing = true
    this.#dirty = false
    const seq = ++this.#seq
    const term = this.#term
    const doc = healthDoc(this.#fleet.node, term, seq, Date.now(), this.#checker.table(), this.#acked)
    this.#fence = { term, seq }
    const txn = this.#client.if(this.#campaignKey, 'Create', '==', term).then(this.#client.put(this.#keys.health).value(JSON.stringify(doc)))
    void txn.commit().then((r) => {
      this.reachable = true
      const recovered = this.#publishFailing
      if (recovered) this.#log.info({ term, seq }, 'fleet health publish works again')
      this.#publishFailing = false
      // (A refusal for an older term of ours, after a newer one was won, says nothing about the newer one.)
      if (!r.succeeded) return this.#term === term ? this.#lose(`fenced: election key ${this.#campaignKey} no longer holds term ${term}`) : undefined
      this.#published++
      if (this.#term === term && seq > this.#acked) this.#acked = seq
      // Nodes that fell back follow again on a document composed after a confirmed write: send one now.
      if (recovered) this.#dirty = true
      if (this.#role === 'leader' && this.#term === term) this.#tookResult()
    }, (err: unknown) => {
      this.reachable = false
      // Once per run of failures: the heartbeat retries every third of stale-after.
      if (!this.#publishFailing) this.#log.warn({ err: storeError(err), term, seq }, 'fleet health publish failed; probing goes on')
      this.#publishFailing = true
    }).finally(() => {
      this.#publishing = false
      if (this.#dirty) this.publish()
    })
  }

  #campaignNow(): void {
    if (this.#stopped) return
    const ttl = Math.round(this.#fleet.leaseTtlMs / 1000)
    const c = this.#client.election(this.#keys.election, ttl).campaign(this.#fleet.node)
    this.#campaign = c
    c.on('elected', () => void this.#elected(c))
    c.on('error', (err: Error) => {
      if (this.#campaign !== c) return
      this.#campaign = null
      c.resign().catch(() => {})
      if (this.#role === 'leader') this.#lose(`leadership lost: ${storeError(err)}`)
      else this.#log.debug({ err: storeError(err) }, 'fleet campaign failed; again soon')
      const t = setTimeout(() => this.#campaignNow(), RECAMPAIGN_MS)
      t.unref()
    })
  }

  async #elected(c: Campaign): Promise<void> {
    try {
      const key = await c.getCampaignKey()
      const r = await this.#client.get(key).exec()
      const kv = r.kvs[0]
      if (kv === undefined) throw new Error(`election key ${key} is gone`)
      if (this.#campaign !== c || this.#stopped) return
      this.#campaignKey = key
      this.#term = Number(kv.create_revision)
      this.#seq = 0
      this.#acked = 0
    } catch (err) {
      if (this.#campaign === c) c.emit('error', err instanceof Error ? err : new Error(String(err)))
      return
    }
    const was = this.#role
    this.reachable = true // winning the election took the store
    this.#role = 'leader'
    this.#fallback = null
    this.#leader = { node: this.#fleet.node, term: this.#term }
    // From the verdicts and agent views adopted so far: no change unless a probe or an agent says so.
    this.#checker?.setProbing(true)
    this.#checker?.setAgentPolling(true)
    this.#log.warn({ node: this.#fleet.node, term: this.#term, was }, 'fleet health leader: this node probes and publishes')
    this.publish()
  }

  /** Stop leading: probe alone until a newer leader's results arrive. */
  #lose(reason: string): void {
    if (this.#role !== 'leader') return
    this.#role = 'standalone'
    this.#fallback = reason
    this.#fallbacks++
    this.#rejoin = null
    this.#log.warn({ reason, term: this.#term }, 'fleet health leader no more; probing alone until a leader publishes')
    // End this campaign (its handler resigns and campaigns again); null when the campaign's own error brought us here.
    this.#campaign?.emit('error', new Error(reason))
  }

  #watch(): void {
    if (this.#stopped || this.#watcher !== null) return
    this.#client.watch().key(this.#keys.health).create().then((w) => {
      if (this.#stopped) return void w.cancel().catch(() => {})
      this.#watcher = w
      w.on('put', (kv) => this.#offer(kv.value.toString()))
      w.on('error', (err) => this.#log.warn({ err: storeError(err) }, 'fleet health watch failed; polling goes on'))
    }, () => {}) // the poll retries
  }

  async #poll(): Promise<void> {
    try {
      const r = await this.#client.get(this.#keys.health).exec()
      this.reachable = true
      if (r.kvs[0] !== undefined) this.#offer(r.kvs[0].value.toString())
      this.#watch()
    } catch {
      this.reachable = false
    }
  }

  #offer(text: string): void {
    const doc = decodeHealthDoc(text)
    if (doc instanceof Error) return void this.#log.warn({ key: this.#keys.health, err: doc.message }, 'fleet health value ignored')
    this.#take(doc)
  }

  #take(doc: HealthDoc): void {
    const verdict = judge(this.#fence, doc)
    if (verdict === 'stale-term') {
      this.#fenced++
      return
    }
    if (verdict === 'seen' || this.#checker === null) return
    if (this.#role === 'leader') {
      if (doc.term <= this.#term) return
      this.#lose(`a newer leader ${doc.leader} (term ${doc.term})`)
    }
    this.#fence = { term: doc.term, seq: doc.seq }
    if (this.#role === 'standalone' && this.#fallbacks > 0) {
      const r = rejoin(this.#rejoin, doc)
      this.#rejoin = r.since
      if (!r.follow) return
    }
    this.#leader = { node: doc.leader, term: doc.term }
    this.#tookResult()
    const from = `fleet leader ${doc.leader} (term ${doc.term})`
    this.#checker.adopt(new Map(Object.entries(doc.backends)), from)
    if (doc.agents !== undefined) this.#checker.adoptAgents(new Map(Object.entries(doc.agents)), doc.leader, from)
    if (this.#role !== 'follower') {
      const was = this.#role
      this.#role = 'follower'
      this.#fallback = null
      this.#checker.setProbing(false)
      this.#log.info({ leader: doc.leader, term: doc.term, was }, 'following the fleet health leader')
    }
    // A leader that publishes no agent views (an older l4lb) does not poll them for us.
    this.#checker.setAgentPolling(doc.agents === undefined)
  }

  /** Note that a new result was taken (or, as leader, written) now. */
  #tookResult(): void {
    this.#lastResultAt = Date.now()
    this.#lastResultMono = monoMs()
  }

  /** How long ago (ms, monotonic) the last new result was taken or written; null before the first. */
  resultAgeMs(): number | null {
    return this.#lastResultMono === null ? null : monoMs() - this.#lastResultMono
  }

  #checkStale(): void {
    if (this.#role !== 'follower') return
    const age = this.resultAgeMs()
    if (age === null) return
    if (age <= this.#fleet.staleAfterMs) return
    this.#role = 'standalone'
    this.#fallback = this.reachable ? `no result from leader ${this.#leader?.node ?? '?'} for ${age} ms` : 'fleet store unreachable'
    this.#fallbacks++
    this.#rejoin = null
    this.#checker?.setProbing(true)
    this.#checker?.setAgentPolling(true)
    this.#log.warn({ reason: this.#fallback, staleAfterMs: this.#fleet.staleAfterMs }, 'fleet health results stale: probing locally')
  }
}
