// HealthChecker.reportPassive: ejection, max-percent guard (counting actively
// down backends), un-ejection by timer, growing ejection length.
import t from 'tap'
import { HealthChecker } from '../../src/health/checker.ts'
import type { HealthChange } from '../../src/health/types.ts'
import { setLogLevel } from '../../src/log.ts'
import { backendCfg, healthCfg, passiveCfg, poolCfg } from './config.ts'
import { fakeTime } from './fake-time.ts'
import { fakeProbe } from './fake-probe.ts'

setLogLevel('silent')

const passive = passiveCfg({ consecutive: 2, baseEjectionMs: 1000, maxEjectionMs: 5000, maxEjectionPercent: 30 })
const id = (p: number) => `127.0.0.1:${p}`

function rig(down: Set<string> = new Set()) {
  const clock = fakeTime()
  const fp = fakeProbe(clock, (bid) => (down.has(bid) ? 'refused' : 'ok'))
  const changes: HealthChange[] = []
  const pools = [
    poolCfg('a', [1, 2, 3, 4].map((p) => backendCfg(p)), healthCfg({ fall: 1, jitter: 0 }), passive),
    poolCfg('b', [5].map((p) => backendCfg(p)), healthCfg({ type: 'none' }), passive),
  ]
  const checker = new HealthChecker({
    pools,
    onChange: (c) => changes.push(c),
    now: clock.now,
    probe: fp.probe,
    random: () => 0,
    timers: clock.timers,
  })
  return { clock, changes, checker }
}

const fail = (c: HealthChecker, pool: string, p: number, n: number) => {
  for (let i = 0; i < n; i++) c.reportPassive(pool, id(p), false)
}
const row = (c: HealthChecker, p: number) => c.table().find((r) => r.id === id(p))

t.test('consecutive failures eject, guarded by max-percent, un-ejected on time', async (t) => {
  const { clock, changes, checker } = rig()
  checker.start()
  t.teardown(() => checker.stop())
  await clock.advance(10) // first verdicts
  changes.length = 0
  const t0 = clock.now()

  fail(checker, 'a', 1, 1)
  checker.reportPassive('a', id(1), true) // a success resets the run
  fail(checker, 'a', 1, 1)
  t.equal(changes.length, 0, 'no ejection: the run was broken')
  fail(checker, 'a', 1, 1)
  t.same(
    changes.map((c) => [c.id, c.kind, c.ejectedUntil]),
    [[id(1), 'eject', t0 + 1000]],
  )
  t.match(row(checker, 1), { verdict: 'up', ejectedUntil: t0 + 1000, ejections: 1, changedAt: t0 })

  fail(checker, 'a', 2, 2) // 1 of 4 unavailable = 25% < 30%: allowed
  fail(checker, 'a', 3, 2) // 2 of 4 = 50%: refused
  t.same(
    changes.map((c) => [c.id, c.kind]),
    [
      [id(1), 'eject'],
      [id(2), 'eject'],
    ],
  )
  t.equal(row(checker, 3)?.ejectedUntil, null, 'max-percent guard held')
  fail(checker, 'b', 5, 2) // another pool: its own guard (a lone backend may go)
  t.equal(row(checker, 5)?.ejectedUntil, t0 + 1000, 'pool b ejects independently')

  await clock.advance(1000)
  t.same(
    changes.slice(3).map((c) => [c.id, c.kind, c.ejectedUntil]),
    [
      [id(1), 'uneject', null],
      [id(2), 'uneject', null],
      [id(5), 'uneject', null],
    ],
  )
  t.equal(row(checker, 1)?.slowstartSince, t0 + 1000, 'slow start after un-ejection')

  const t1 = clock.now()
  fail(checker, 'a', 1, 2)
  t.equal(row(checker, 1)?.ejectedUntil, t1 + 2000, 'second ejection in a row lasts twice as long')
  t.equal(row(checker, 1)?.ejections, 2)
  fail(checker, 'a', 1, 5)
  t.equal(row(checker, 1)?.ejectedUntil, t1 + 2000, 'reports while ejected are ignored')
})

t.test('actively down backends count against max-percent', async (t) => {
  const { clock, changes, checker } = rig(new Set([id(4)]))
  checker.start()
  t.teardown(() => checker.stop())
  await clock.advance(10)
  t.equal(row(checker, 4)?.verdict, 'down')
  changes.length = 0
  fail(checker, 'a', 1, 2) // 1 of 4 down = 25% < 30%: allowed
  fail(checker, 'a', 2, 2) // 2 of 4 = 50%: refused
  t.same(
    changes.map((c) => [c.id, c.kind]),
    [[id(1), 'eject']],
  )
})

t.test('reports are ignored while stopped and for unknown backends', async (t) => {
  const { changes, checker } = rig()
  fail(checker, 'a', 1, 10)
  t.equal(changes.length, 0, 'not started')
  checker.start()
  t.teardown(() => checker.stop())
  fail(checker, 'a', 99, 10)
  fail(checker, 'zzz', 1, 10)
  t.equal(changes.length, 0, 'unknown pool or id')
  t.equal(checker.table().length, 5)
})

t.test('stop() clears ejection timers; start() re-arms them', async (t) => {
  const { clock, changes, checker } = rig()
  checker.start()
  await clock.advance(10)
  fail(checker, 'a', 1, 2)
  checker.stop()
  t.equal(clock.pending(), 0)
  await clock.advance(5000)
  t.equal(row(checker, 1)?.ejectedUntil !== null, true, 'still ejected while stopped')
  changes.length = 0
  checker.start()
  t.teardown(() => checker.stop())
  await clock.advance(1)
  t.same(
    changes.filter((c) => c.kind === 'uneject').map((c) => c.id),
    [id(1)],
    'overdue ejection ends on start',
  )
})
