// HealthChecker on a fake clock with scripted probes: cadence, bounds, events,
// stop, update. Real sockets are in checker-real.test.ts.
import t from 'tap'
import { HealthChecker } from '../../src/health/checker.ts'
import type { HealthChange } from '../../src/health/types.ts'
import { setLogLevel } from '../../src/log.ts'
import { backendCfg, healthCfg, poolCfg } from './config.ts'
import { fakeTime, seeded } from './fake-time.ts'
import { fakeProbe, type Behaviour } from './fake-probe.ts'

setLogLevel('silent')

const ids = (ports: number[]) => ports.map((p) => backendCfg(p))

function rig(pools: Parameters<typeof poolCfg>[], behaviour: (id: string, now: number) => Behaviour, random = () => 0.5) {
  const clock = fakeTime()
  const fp = fakeProbe(clock, behaviour)
  const changes: HealthChange[] = []
  const checker = new HealthChecker({
    pools: pools.map((p) => poolCfg(...p)),
    onChange: (c) => changes.push(c),
    now: clock.now,
    probe: fp.probe,
    random,
    timers: clock.timers,
  })
  return { clock, fp, changes, checker }
}

t.test('one probe per backend per interval, whatever the number of backends', async (t) => {
  const h = healthCfg({ intervalMs: 100, jitter: 0 })
  const { clock, fp, checker } = rig(
    [
      ['a', ids([1, 2, 3]), h],
      ['b', ids([4, 5]), h],
    ],
    () => 'ok',
  )
  checker.start()
  t.teardown(() => checker.stop())
  await clock.advance(100 * 100) // first probes at 50 ms (random 0.5), then every 100 ms
  t.equal(checker.probesSent, 5 * 100, 'probes = backends x intervals')
  for (const p of [1, 2, 3, 4, 5]) t.equal(fp.count(`127.0.0.1:${p}`), 100, `backend ${p}`)
})

t.test('with jitter: gaps stay within interval x (1 +/- jitter), never overlapping', async (t) => {
  const h = healthCfg({ intervalMs: 1000, jitter: 0.3, timeoutMs: 400 })
  // every third backend stalls (probe lasts timeoutMs): it stays down, settled, at the normal interval
  const { clock, fp, checker } = rig([['a', ids([1, 2, 3, 4, 5, 6]), h]], (id) => (id.endsWith(':3') ? 'stall' : 'ok'), seeded(42))
  checker.start()
  t.teardown(() => checker.stop())
  await clock.advance(200_000)
  t.equal(fp.maxInflight, 1, 'never two probes of one backend at once')
  for (const p of [1, 2, 3, 4, 5, 6]) {
    const times = fp.calls.filter((c) => c.id === `127.0.0.1:${p}`).map((c) => c.at)
    const gaps = times.slice(1).map((at, i) => at - times[i])
    const steady = p === 3 ? gaps.slice(3) : gaps // skip the fast probes while 3 was falling
    t.ok(Math.min(...steady) >= 700 && Math.max(...steady) <= 1300, `backend ${p}: gaps in [700, 1300]`)
    // Mean gap 1000 ms: ~200 probes; 200 uniform gaps of +/-300 ms move the count by ~2.5 (1 sigma).
    t.ok(times.length >= 188 && times.length <= 212, `backend ${p}: ${times.length} probes in 200 intervals (200 +/- 12)`)
  }
})

t.test('fast interval while changing state, normal once settled', async (t) => {
  const h = healthCfg({ intervalMs: 1000, fastIntervalMs: 200, jitter: 0, fall: 3, rise: 2 })
  let dead = false
  const { clock, fp, checker } = rig([['a', ids([1]), h]], () => (dead ? 'refused' : 'ok'), () => 0)
  checker.start()
  t.teardown(() => checker.stop())
  await clock.advance(2500) // probes at 0, 1000, 2000
  dead = true
  await clock.advance(5000) // 3000 fail, 3200 fail, 3400 fail -> down; then 4400, 5400, 6400, 7400
  const start = fp.calls[0].at
  t.same(
    fp.calls.map((c) => c.at - start),
    [0, 1000, 2000, 3000, 3200, 3400, 4400, 5400, 6400, 7400],
  )
  t.equal(checker.table()[0].verdict, 'down')
})

t.test('events: first verdict, down, back up with slow start; check detail', async (t) => {
  const h = healthCfg({ intervalMs: 100, fastIntervalMs: 50, fall: 2, rise: 3, jitter: 0 })
  let b: Behaviour = 'ok'
  const { clock, changes, checker } = rig([['a', ids([1, 2]), h]], (id) => (id.endsWith(':1') ? b : 'ok'))
  t.same(
    checker.table().map((r) => [r.id, r.verdict, r.check.result, r.ejectedUntil, r.ejections, r.slowstartSince]),
    [
      ['127.0.0.1:1', 'unknown', null, null, 0, null],
      ['127.0.0.1:2', 'unknown', null, null, 0, null],
    ],
    'unknown before the first probe',
  )
  checker.start()
  t.teardown(() => checker.stop())
  await clock.advance(100)
  t.same(
    changes.map((c) => [c.id, c.kind, c.from, c.to]),
    [
      ['127.0.0.1:1', 'up', 'unknown', 'up'],
      ['127.0.0.1:2', 'up', 'unknown', 'up'],
    ],
  )
  t.equal(checker.table()[0].slowstartSince, null, 'no slow start at process start')
  changes.length = 0
  b = 'refused'
  await clock.advance(1000)
  t.same(
    changes.map((c) => [c.id, c.kind, c.from, c.to, c.detail]),
    [['127.0.0.1:1', 'down', 'up', 'down', 'L4CON ECONNREFUSED']],
  )
  const row = checker.table()[0]
  t.equal(row.verdict, 'down')
  t.equal(row.changedAt, changes[0].at)
  t.match(row.check, { result: { ok: false, detail: 'L4CON ECONNREFUSED' }, at: Number })
  changes.length = 0
  b = 'ok'
  await clock.advance(1000)
  t.same(
    changes.map((c) => [c.id, c.kind, c.from, c.to]),
    [['127.0.0.1:1', 'up', 'down', 'up']],
  )
  t.equal(checker.table()[0].slowstartSince, changes[0].at, 'slow start from the return')
})

t.test('a dead backend is down within fall x interval x (1+j) + timeout; back within rise x interval x (1+j) + timeout', async (t) => {
  const h = healthCfg({ intervalMs: 1000, fastIntervalMs: 250, timeoutMs: 400, fall: 3, rise: 2, jitter: 0.2 })
  const downBound = h.fall * h.intervalMs * (1 + h.jitter) + h.timeoutMs
  const upBound = h.rise * h.intervalMs * (1 + h.jitter) + h.timeoutMs
  const rnd = seeded(1)
  for (let trial = 0; trial < 40; trial++) {
    const dieAt = 1_000_000 + 3000 + Math.floor(rnd() * 5000)
    const reviveAt = dieAt + 8000 + Math.floor(rnd() * 3000)
    const failure: Behaviour = trial % 2 === 0 ? 'refused' : 'stall'
    const { clock, changes, checker } = rig(
      [['a', ids([1, 2, 3]), h]],
      (id, now) => (id.endsWith(':2') && now >= dieAt && now < reviveAt ? failure : 'ok'),
      seeded(100 + trial),
    )
    checker.start()
    await clock.advance(20_000)
    checker.stop()
    const ev = changes.filter((c) => c.id === '127.0.0.1:2' && c.from !== 'unknown')
    t.same(
      ev.map((c) => c.kind),
      ['down', 'up'],
      `trial ${trial} (${failure}): one down, one up`,
    )
    if (ev.length !== 2) continue
    t.ok(ev[0].at - dieAt <= downBound, `trial ${trial}: down after ${ev[0].at - dieAt} ms <= ${downBound}`)
    t.ok(ev[1].at - reviveAt <= upBound, `trial ${trial}: up after ${ev[1].at - reviveAt} ms <= ${upBound}`)
    t.ok(ev[1].at >= reviveAt, 'not up before it is back')
    t.equal(changes.filter((c) => c.id !== '127.0.0.1:2' && c.from !== 'unknown').length, 0, 'others untouched')
  }
})

t.test('health type none: always up, never probed', async (t) => {
  const { clock, fp, checker } = rig([['a', ids([1]), healthCfg({ type: 'none' })]], () => 'refused')
  t.equal(checker.table()[0].verdict, 'up')
  checker.start()
  t.teardown(() => checker.stop())
  await clock.advance(10_000)
  t.equal(checker.probesSent, 0)
  t.equal(fp.calls.length, 0)
  t.equal(clock.pending(), 0, 'no timers')
})

t.test('stop() clears every timer and aborts in-flight probes; start() resumes', async (t) => {
  const h = healthCfg({ intervalMs: 100, timeoutMs: 10_000, jitter: 0 })
  const { clock, fp, changes, checker } = rig([['a', ids([1, 2]), h]], (id) => (id.endsWith(':1') ? 'stall' : 'ok'))
  checker.start()
  await clock.advance(60) // both probed at 50; :1 hangs
  t.equal(fp.inflight.get('127.0.0.1:1'), 1, 'a probe in flight')
  const sent = checker.probesSent
  const seen = changes.length
  checker.stop()
  await clock.advance(0)
  t.equal(fp.inflight.get('127.0.0.1:1'), 0, 'in-flight probe aborted')
  t.equal(fp.calls[0].result?.detail, 'aborted')
  t.equal(clock.pending(), 0, 'no timers left: the process may exit')
  await clock.advance(5000)
  t.equal(checker.probesSent, sent, 'no probes after stop')
  t.equal(changes.length, seen, 'aborted result dropped')
  t.equal(checker.table()[0].check.result, null)
  checker.start()
  await clock.advance(200)
  t.ok(checker.probesSent > sent, 'start() resumes probing')
  checker.stop()
  t.equal(clock.pending(), 0)
})

t.test('onChange throwing does not break the checker', async (t) => {
  const clock = fakeTime()
  let calls = 0
  let dead = false
  const fp = fakeProbe(clock, () => (dead ? 'refused' : 'ok'))
  const checker = new HealthChecker({
    pools: [poolCfg('a', ids([1]), healthCfg({ fall: 1, rise: 1, jitter: 0 }))],
    onChange: () => {
      calls++
      throw new Error('boom')
    },
    now: clock.now,
    probe: fp.probe,
    random: () => 0,
    timers: clock.timers,
  })
  checker.start()
  t.teardown(() => checker.stop())
  await clock.advance(50)
  dead = true
  await clock.advance(200)
  t.equal(calls, 2, 'up, then down despite the throw')
  t.equal(checker.table()[0].verdict, 'down')
})
