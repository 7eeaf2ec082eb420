// A step of the wall clock on a follower (NTP correcting a drifted clock)
// must not change whether the fleet's health results are stale: their age is
// measured on the monotonic clock. On the wall clock, a step forward made a
// follower of a live leader fall back to local probing at once, and a step
// back made it follow a silent leader for as long as the step.
import t from 'tap'
import { pino } from 'pino'
import { healthDoc } from '../../src/fleet/health-doc.ts'
import { HealthSync } from '../../src/fleet/health-sync.ts'
import { fleetKeys } from '../../src/fleet/store.ts'
import { HealthChecker } from '../../src/health/checker.ts'
import type { FleetConfig } from '../../src/config/types.ts'
import { startBackend, type FixtureBackend } from '../fixtures/backend.ts'
import { startEtcd, type TestEtcd } from '../helpers/etcd.ts'
import { holdFor, until } from '../helpers/until.ts'
import { backendCfg, healthCfg, poolCfg } from '../health/config.ts'

t.setTimeout(60_000)

const HOUR_MS = 3_600_000
const realNow = Date.now
let etcd: TestEtcd
let backend: FixtureBackend
const stops: (() => Promise<void> | void)[] = []
t.teardown(async () => {
  Date.now = realNow
  for (const s of stops.reverse()) await s()
  await backend?.close()
  await etcd?.destroy()
})

t.test('staleness of the leader results ignores wall-clock steps, forward and back', async (t) => {
  etcd = await startEtcd()
  backend = await startBackend('b1')
  const pools = [poolCfg('p', [backendCfg(backend.port, { id: 'b1' })], healthCfg({ intervalMs: 100, timeoutMs: 200, fall: 2, rise: 2 }))]
  const prefix = '/step'
  const keys = fleetKeys(prefix)

  // The leader: the test, elected first, writing a document every 100 ms while `leading`.
  const lc = etcd.client()
  const campaign = lc.election(keys.election, 2).campaign('n1')
  await new Promise<void>((resolve, reject) => {
    campaign.once('elected', () => resolve())
    campaign.once('error', reject)
  })
  stops.push(() => campaign.resign().catch(() => {}))
  const term = Number((await lc.get(await campaign.getCampaignKey()).exec()).kvs[0].create_revision)
  const table = new HealthChecker({ pools, onChange: () => {} }).table()
  let seq = 0
  const write = () => {
    seq++
    return lc.put(keys.health).value(JSON.stringify(healthDoc('n1', term, seq, realNow(), table, seq - 1))).exec()
  }
  await write()
  let leading = true
  const beat = setInterval(() => void (leading ? write().catch(() => {}) : undefined), 100)
  stops.push(() => clearInterval(beat))

  const fleet: FleetConfig = { endpoints: [etcd.endpoint], prefix, node: 'n2', tls: null, auth: null, leaseTtlMs: 2000, pollIntervalMs: 500, staleAfterMs: 600, stateFile: '/nonexistent' }
  const checker = new HealthChecker({ pools, onChange: () => {} })
  const sync = new HealthSync({ client: etcd.client(), fleet, log: pino({ level: 'silent' }) })
  sync.attach(checker, null)
  checker.start()
  sync.start()
  stops.push(() => sync.stop(), () => checker.stop())
  await until('the node follows the leader', () => sync.status().role === 'follower', { deadlineMs: 5000, intervalMs: 10 })

  // Forward an hour while the leader keeps writing: still a follower, no fallback.
  Date.now = () => realNow() + HOUR_MS
  await holdFor(1000)
  t.equal(sync.status().role, 'follower', 'a live leader is still followed after a step forward')
  t.equal(sync.status().fallbacksTotal, 0, 'no fallback to local probing')

  // Back an hour, and the leader goes silent: the node falls back after stale-after (600 ms) and its
  // check period, not an hour later (the deadline is slack for a loaded machine).
  Date.now = () => realNow() - HOUR_MS
  leading = false
  const t0 = performance.now()
  await until('the node falls back', () => sync.status().role === 'standalone', { deadlineMs: 15_000, intervalMs: 10 })
  t.pass(`fell back ${Math.round(performance.now() - t0)} ms after the leader went silent (stale-after 600 ms)`)
  Date.now = realNow
})
