// Late health documents (drill 14, issue 13): a leader's write that it gave
// up on while etcd had no quorum can still be committed once quorum is back,
// carrying the verdicts the leader had while cut off. A node that fell back
// must not follow again on such documents (it would take a backend out and
// back in, a flap), only on one the leader composed after a write it saw
// commit. Here the test is the leader (its own etcd election, writing its
// documents as a real one would and as the late ones land); the node is a
// real HealthSync + HealthChecker on a real etcd, probing two live backends
// while it stands alone.
import t from 'tap'
import { pino } from 'pino'
import { healthDoc, type HealthDoc } from '../../src/fleet/health-doc.ts'
import { HealthSync } from '../../src/fleet/health-sync.ts'
import { fleetKeys } from '../../src/fleet/store.ts'
import { HealthChecker } from '../../src/health/checker.ts'
import type { HealthChange } from '../../src/health/types.ts'
import type { FleetConfig } from '../../src/config/types.ts'
import { startBackend, type FixtureBackend } from '../fixtures/backend.ts'
import { startEtcd, type TestEtcd } from '../helpers/etcd.ts'
import { holdFor, until } from '../helpers/until.ts'
import { backendCfg, healthCfg, poolCfg } from '../health/config.ts'

t.setTimeout(60_000)

let etcd: TestEtcd
const backends: FixtureBackend[] = []
const stops: (() => Promise<void> | void)[] = []
t.teardown(async () => {
  for (const s of stops.reverse()) await s()
  for (const b of backends) await b.close()
  await etcd?.destroy()
})

t.test('after a fallback, late documents from the leader are not followed; the first composed after a confirmed write is', async (t) => {
  etcd = await startEtcd()
  for (const name of ['b1', 'b2']) backends.push(await startBackend(name))
  const pools = [poolCfg('p', backends.map((b) => backendCfg(b.port, { id: b.name })), healthCfg({ intervalMs: 100, timeoutMs: 200, fall: 2, rise: 2 }))]
  const prefix = '/late'
  const keys = fleetKeys(prefix)

  // The leader: the test, elected first, so the node's campaign waits behind it.
  const lc = etcd.client()
  const campaign = lc.election(keys.election, 2).campaign('n1')
  await new Promise<void>((resolve, reject) => {
    campaign.once('elected', () => resolve())
    campaign.once('error', reject)
  })
  stops.push(() => campaign.resign().catch(() => {}))
  const term = Number((await lc.get(await campaign.getCampaignKey()).exec()).kvs[0].create_revision)
  const table = new HealthChecker({ pools, onChange: () => {} }).table()
  const doc = (seq: number, acked: number, b2: 'up' | 'down'): HealthDoc =>
    healthDoc('n1', term, seq, Date.now(), table.map((r) => ({ ...r, verdict: r.id === 'b2' ? b2 : 'up' })), acked)
  const write = (d: HealthDoc) => lc.put(keys.health).value(JSON.stringify(d)).exec()

  // The node: follows the leader's second document from its start.
  const fleet: FleetConfig = { endpoints: [etcd.endpoint], prefix, node: 'n2', tls: null, auth: null, leaseTtlMs: 2000, pollIntervalMs: 500, staleAfterMs: 600, stateFile: '/nonexistent' }
  const changes: { at: number; c: HealthChange }[] = []
  const checker = new HealthChecker({ pools, onChange: (c) => changes.push({ at: Date.now(), c }) })
  const sync = new HealthSync({ client: etcd.client(), fleet, log: pino({ level: 'silent' }) })
  await write(doc(1, 0, 'up'))
  await write(doc(2, 1, 'up'))
  sync.attach(checker, doc(2, 1, 'up'))
  checker.start()
  sync.start()
  stops.push(() => sync.stop(), () => checker.stop())
  t.equal(sync.status().role, 'follower', 'following the leader')

  // The leader is cut off from the store: nothing new for stale-after, the node probes alone.
  await until('the node falls back', () => sync.status().role === 'standalone', { deadlineMs: 5000, intervalMs: 10 })
  await holdFor(400) // its own probes run: b1 and b2 are up, nothing changes
  const t0 = Date.now()

  // Quorum back: the writes the leader gave up on land, seqs 3 and 4, composed after it saw seq 2
  // commit and while it had b2 down (what it knew then); then its first confirmed write (5, b2 up
  // again, acked 2 still) and the one composed after it (6, acked 5).
  await write(doc(3, 2, 'down'))
  await holdFor(200)
  await write(doc(4, 2, 'down'))
  await holdFor(400)
  t.equal(sync.status().role, 'standalone', 'late documents do not bring the node back to following')
  t.same(sync.status().fence, { term, seq: 4 }, 'but they are seen (an older one would not be taken)')
  await write(doc(5, 2, 'up'))
  await holdFor(200)
  t.equal(sync.status().role, 'standalone', 'nor does the first confirmed write (composed before it knew)')
  await write(doc(6, 5, 'up'))
  await until('the node follows again', () => sync.status().role === 'follower', { deadlineMs: 5000, intervalMs: 10 })
  t.match(sync.status().leader, { node: 'n1', term })
  await holdFor(300)
  const since = changes.filter((x) => x.at >= t0).map((x) => `${x.c.id}:${x.c.from}->${x.c.to}`)
  t.same(since, [], `no backend changed state on the way back (changes: ${JSON.stringify(since)})`)
  t.same(checker.table().map((r) => `${r.id}:${r.verdict}`), ['b1:up', 'b2:up'])
})
