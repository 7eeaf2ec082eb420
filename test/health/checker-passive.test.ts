// HealthChecker.reportPassive: ejection, max-percent and last-backend guards
// (counting actively down and operator-drained backends), un-ejection by timer
// or by a passing active check, growing ejection length.
import t from 'tap'
import { HealthChecker } from '../../src/health/checker.ts'
import type { HealthChange } from '../../src/health/types.ts'
import { setLogLevel } from '../../src/log.ts'
import { backendCfg, healthCfg, passiveCfg, poolCfg } from './config.ts'
import { fakeTime } from './fake-time.ts'
import { fakeProbe } from './fake-probe.ts'

setLogLevel('silent')

const passive = passiveCfg({ consecutive: 2, baseEjectionMs: 1000, maxEjectionMs: 5000, maxEjectionPercent: 50 })
const id = (p: number) => `127.0.0.1:${p}`

function rig(down: Set<string> = new Set(), outOfService: (pool: string, id: string) => boolean = () => false) {
  const clock = fakeTime()
  const fp = fakeProbe(clock, (bid) => (down.has(bid) ? 'refused' : 'ok'))
  const changes: HealthChange[] = []
  const pools = [
    poolCfg('a', [1, 2, 3, 4].map((p) => backendCfg(p)), healthCfg({ type: 'none' }), passive),
    poolCfg('b', [5].map((p) => backendCfg(p)), healthCfg({ type: 'none' }), passive),
    poolCfg('c', [6, 7].map((p) => backendCfg(p)), healthCfg({ fall: 1, jitter: 0 }), passive),
  ]
  const checker = new HealthChecker({
    pools,
    onChange: (c) => changes.push(c),
    now: clock.now,
    probe: fp.probe,
    random: () => 0,
    timers: clock.timers,
    outOfService,
  })
  return { clock, changes, checker, fp }
}

const fail = (c: HealthChecker, pool: string, p: number, n: number) => {
  for (let i = 0; i < n; i++) c.reportPassive({ pool, id: id(p), outcome: 'error' })
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
  checker.reportPassive({ pool: 'a', id: id(1), outcome: 'connected' }) // a success resets the run
  fail(checker, 'a', 1, 1)
  t.equal(changes.length, 0, 'no ejection: the run was broken')
  fail(checker, 'a', 1, 1)
  t.same(
    changes.map((c) => [c.id, c.kind, c.ejectedUntil]),
    [[id(1), 'eject', t0 + 1000]],
  )
  t.match(row(checker, 1), { verdict: 'up', ejectedUntil: t0 + 1000, ejections: 1, changedAt: t0 })

  fail(checker, 'a', 2, 2) // 2 of 4 = 50% <= 50%: allowed
  fail(checker, 'a', 3, 2) // 3 of 4 = 75%: refused
  t.same(
    changes.map((c) => [c.id, c.kind]),
    [
      [id(1), 'eject'],
      [id(2), 'eject'],
    ],
  )
  t.equal(row(checker, 3)?.ejectedUntil, null, 'max-percent guard held')
  fail(checker, 'b', 5, 4) // another pool, alone in it: never ejected
  t.equal(row(checker, 5)?.ejectedUntil, null, 'a lone backend is never ejected')

  await clock.advance(1000)
  t.same(
    changes.slice(2).map((c) => [c.id, c.kind, c.ejectedUntil]),
    [
      [id(1), 'uneject', null],
      [id(2), 'uneject', null],
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

t.test('actively down backends count against max-percent and the last-backend guard', async (t) => {
  const { clock, changes, checker } = rig(new Set([id(4), id(7)]))
  checker.start()
  t.teardown(() => checker.stop())
  await clock.advance(10)
  t.equal(row(checker, 7)?.verdict, 'down')
  changes.length = 0
  fail(checker, 'c', 6, 6) // its only peer is down: 6 is the last backend that can serve
  t.equal(row(checker, 6)?.ejectedUntil, null, 'not ejected')
  t.same(changes, [])
})

t.test('operator-drained peers count: the last serving backend is never ejected', async (t) => {
  const drained = new Set([id(2), id(3), id(4)])
  const { clock, changes, checker } = rig(new Set(), (pool, bid) => pool === 'a' && drained.has(bid))
  checker.start()
  t.teardown(() => checker.stop())
  await clock.advance(10)
  changes.length = 0
  fail(checker, 'a', 1, 6)
  t.equal(row(checker, 1)?.ejectedUntil, null, 'others drained: not ejected')
  drained.delete(id(4))
  fail(checker, 'a', 1, 2)
  t.not(row(checker, 1)?.ejectedUntil, null, 'one peer serves again: ejected')
})

// Through the checker, pool sizes 1..5 x percents: backends ejected when all keep failing.
t.test('max-ejection-percent holds for pool sizes 1..5 through the checker', async (t) => {
  const want: Record<number, [number, number, number]> = { 1: [0, 0, 0], 2: [0, 1, 1], 3: [0, 1, 2], 4: [1, 2, 3], 5: [1, 2, 4] }
  for (const [size, expected] of Object.entries(want)) {
    ;[25, 50, 100].forEach((pct, k) => {
      const clock = fakeTime()
      const ports = Array.from({ length: Number(size) }, (_, i) => 10 + i)
      const pools = [poolCfg('p', ports.map((p) => backendCfg(p)), healthCfg({ type: 'none' }), passiveCfg({ consecutive: 2, maxEjectionPercent: pct }))]
      const checker = new HealthChecker({ pools, onChange: () => {}, now: clock.now, timers: clock.timers, random: () => 0 })
      checker.start()
      for (let round = 0; round < 2; round++) for (const p of ports) fail(checker, 'p', p, 2)
      const ejected = checker.table().filter((r) => r.ejectedUntil !== null).length
      checker.stop()
      t.equal(ejected, expected[k], `${size} backends at ${pct}%`)
    })
  }
})

t.test('a passing active check ends an ejection early; checks run fast meanwhile', async (t) => {
  const down = new Set<string>()
  const { clock, changes, checker, fp } = rig(down)
  checker.start()
  t.teardown(() => checker.stop())
  await clock.advance(10)
  changes.length = 0
  const t0 = clock.now()
  fail(checker, 'c', 6, 2)
  t.equal(row(checker, 6)?.ejectedUntil, t0 + 1000, 'ejected for base-ejection')
  await clock.advance(60) // fast-interval (50 ms) after the ejection, the next check passes
  const ends = changes.filter((c) => c.kind === 'uneject')
  t.equal(ends.length, 1, 'un-ejected')
  t.match(ends[0], { id: id(6), detail: /ended early, active check passed \(L4OK\)/ })
  t.ok(ends[0].at - t0 <= 50, `after one fast-interval (${ends[0].at - t0} ms), not base-ejection`)
  t.equal(row(checker, 6)?.ejectedUntil, null)
  t.equal(row(checker, 6)?.slowstartSince, ends[0].at, 'slow start from the early return')
  const before = fp.count(id(6))
  await clock.advance(1000)
  t.equal(changes.filter((c) => c.kind === 'uneject').length, 1, 'no second uneject when base-ejection would have ended')
  t.ok(fp.count(id(6)) - before <= 11, 'back to the normal interval after the return')

  // A check that passes while the backend stays down (rise not reached) does not end it.
  down.add(id(7))
  await clock.advance(300)
  t.equal(row(checker, 7)?.verdict, 'down')
  down.delete(id(7))
  fail(checker, 'c', 7, 2) // its peer 6 serves: allowed
  t.not(row(checker, 7)?.ejectedUntil, null, 'ejected while down')
  await clock.advance(60) // one pass: rise is 2, still down
  t.equal(row(checker, 7)?.verdict, 'down')
  t.not(row(checker, 7)?.ejectedUntil, null, 'still ejected: the verdict is down')
  await clock.advance(60) // second pass: up, and the ejection ends with it
  t.equal(row(checker, 7)?.verdict, 'up')
  t.equal(row(checker, 7)?.ejectedUntil, null, 'ejection ended with the verdict up')
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
  t.equal(checker.table().length, 7)
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

t.test('a backup counts as a backend that can serve; the last one standing stays', async (t) => {
  const clock = fakeTime()
  const pools = [poolCfg('p', [backendCfg(1), backendCfg(2, { backup: true })], healthCfg({ type: 'none' }), passiveCfg({ consecutive: 2, maxEjectionPercent: 50 }))]
  const checker = new HealthChecker({ pools, onChange: () => {}, now: clock.now, timers: clock.timers, random: () => 0 })
  checker.start()
  t.teardown(() => checker.stop())
  fail(checker, 'p', 1, 2)
  t.not(row(checker, 1)?.ejectedUntil, null, 'the primary backend is ejected: its backup serves')
  fail(checker, 'p', 2, 4)
  t.equal(row(checker, 2)?.ejectedUntil, null, 'the backup, now the only one serving, is not')
})

t.test("an ejection's detail says whether the connect that completed the run timed out or failed", async (t) => {
  const { clock, changes, checker } = rig()
  checker.start()
  t.teardown(() => checker.stop())
  await clock.advance(10)
  changes.length = 0
  checker.reportPassive({ pool: 'a', id: id(1), outcome: 'error' })
  checker.reportPassive({ pool: 'a', id: id(1), outcome: 'timeout' })
  checker.reportPassive({ pool: 'a', id: id(2), outcome: 'timeout' })
  checker.reportPassive({ pool: 'a', id: id(2), outcome: 'error' })
  t.same(
    changes.map((c) => [c.id, c.kind, c.detail]),
    [
      [id(1), 'eject', 'passive: 2 consecutive connect failures (last: timeout)'],
      [id(2), 'eject', 'passive: 2 consecutive connect failures (last: error)'],
    ],
  )
})
