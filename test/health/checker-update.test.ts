// HealthChecker.update(): reload keeps the state of backends with the same
// pool + id, stops probing removed ones and starts new ones.
import t from 'tap'
import { HealthChecker } from '../../src/health/checker.ts'
import type { HealthChange } from '../../src/health/types.ts'
import { setLogLevel } from '../../src/log.ts'
import { backendCfg, healthCfg, passiveCfg, poolCfg } from './config.ts'
import { fakeTime } from './fake-time.ts'
import { fakeProbe } from './fake-probe.ts'

setLogLevel('silent')

const id = (p: number) => `127.0.0.1:${p}`
const h = healthCfg({ intervalMs: 100, fall: 2, rise: 2, jitter: 0, timeoutMs: 10_000 })
const passive = passiveCfg({ consecutive: 1, baseEjectionMs: 60_000, maxEjectionPercent: 100 }) // 1 is down: room for 3

t.test('update keeps state, drops removed, adds new', async (t) => {
  const clock = fakeTime()
  // 1 refuses (goes down), 2 stalls (a probe in flight at reload), 3 and 4 fine
  const fp = fakeProbe(clock, (bid) => (bid === id(1) ? 'refused' : bid === id(2) ? 'stall' : 'ok'))
  const changes: HealthChange[] = []
  const checker = new HealthChecker({
    pools: [poolCfg('a', [1, 2, 3].map((p) => backendCfg(p)), h, passive)],
    onChange: (c) => changes.push(c),
    now: clock.now,
    probe: fp.probe,
    random: () => 0.5,
    timers: clock.timers,
  })
  checker.start()
  t.teardown(() => checker.stop())
  await clock.advance(500)
  checker.reportPassive({ pool: 'a', id: id(3), outcome: 'error' })
  const before = new Map(checker.table().map((r) => [r.id, r]))
  t.equal(before.get(id(1))?.verdict, 'down')
  t.equal(before.get(id(3))?.ejections, 1)
  t.equal(fp.inflight.get(id(2)), 1, 'a probe of 2 in flight')
  const sent2 = fp.count(id(2))
  const sent1 = fp.count(id(1))

  // reload: 2 removed, 4 added, 1 and 3 kept (new config objects, same ids)
  const h2 = { ...h, intervalMs: 200 }
  checker.update([poolCfg('a', [1, 3, 4].map((p) => backendCfg(p)), h2, passive)])
  await clock.advance(0)
  t.equal(fp.inflight.get(id(2)), 0, 'in-flight probe of the removed backend aborted')
  const after = new Map(checker.table().map((r) => [r.id, r]))
  t.same([...after.keys()], [id(1), id(3), id(4)])
  t.same(after.get(id(1)), before.get(id(1)), 'kept backend: verdict, changedAt, check unchanged')
  t.match(after.get(id(3)), { ejections: 1, ejectedUntil: before.get(id(3))?.ejectedUntil })
  t.match(after.get(id(4)), { verdict: 'unknown', ejections: 0 })

  await clock.advance(2000)
  t.equal(fp.count(id(2)), sent2, 'removed backend no longer probed')
  t.ok(fp.count(id(4)) >= 9, 'new backend probed')
  const kept = fp.calls.filter((c) => c.id === id(1)).map((c) => c.at)
  t.ok(kept.length > sent1, 'kept backend still probed')
  t.equal(kept[kept.length - 1] - kept[kept.length - 2], 200, 'with the new interval')
  t.equal(checker.table().find((r) => r.id === id(1))?.verdict, 'down', 'still down: no fresh start')
  t.equal(changes.filter((c) => c.id === id(1) && c.kind === 'down').length, 1, 'no second down event')
  t.ok(
    changes.some((c) => c.id === id(4) && c.kind === 'up'),
    'new backend gets its first verdict',
  )
})

t.test('same id in another pool is another backend', async (t) => {
  const clock = fakeTime()
  const fp = fakeProbe(clock, () => 'refused')
  const checker = new HealthChecker({
    pools: [poolCfg('a', [backendCfg(1)], h)],
    onChange: () => {},
    now: clock.now,
    probe: fp.probe,
    random: () => 0,
    timers: clock.timers,
  })
  checker.start()
  t.teardown(() => checker.stop())
  await clock.advance(1000)
  t.equal(checker.table()[0].verdict, 'down')
  checker.update([poolCfg('b', [backendCfg(1)], h)])
  t.match(checker.table(), [{ pool: 'b', id: id(1), verdict: 'unknown' }])
})

t.test('switching a kept backend to type none stops probes and brings it up', async (t) => {
  const clock = fakeTime()
  const fp = fakeProbe(clock, () => 'refused')
  const changes: HealthChange[] = []
  const checker = new HealthChecker({
    pools: [poolCfg('a', [backendCfg(1)], h)],
    onChange: (c) => changes.push(c),
    now: clock.now,
    probe: fp.probe,
    random: () => 0,
    timers: clock.timers,
  })
  checker.start()
  t.teardown(() => checker.stop())
  await clock.advance(1000)
  t.equal(checker.table()[0].verdict, 'down')
  const sent = checker.probesSent
  checker.update([poolCfg('a', [backendCfg(1)], healthCfg({ type: 'none' }))])
  t.match(changes[changes.length - 1], { kind: 'up', from: 'down', to: 'up', detail: 'health check disabled' })
  await clock.advance(1000)
  t.equal(checker.probesSent, sent)
  t.equal(clock.pending(), 0)
  checker.update([poolCfg('a', [backendCfg(1)], h)])
  await clock.advance(1000)
  t.ok(checker.probesSent > sent, 'checks back on: probed again')
})
