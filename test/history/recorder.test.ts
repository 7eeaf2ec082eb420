// History (src/history/recorder.ts), pure: rates from total deltas, bounds on
// samples and events, series aligned with sample times, and timeline events
// with their reasons and check results.
import t from 'tap'
import { History, type StateRow } from '../../src/history/recorder.ts'
import type { HealthChange, ProbeResult } from '../../src/health/types.ts'
import { holdFor } from '../helpers/until.ts'

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let now = start
  return { now: () => now, advance: (ms) => (now += ms) }
}

t.test('samples: new connections/s from total deltas, active as is, bounded, aligned', async (t) => {
  const c = clock()
  const h = new History({ intervalMs: 1000, samples: 4, now: c.now })
  h.sample([{ pool: 'p', id: 'a', total: 10, active: 1 }])
  c.advance(2000)
  h.sample([{ pool: 'p', id: 'a', total: 30, active: 5 }])
  c.advance(1000)
  h.sample([{ pool: 'p', id: 'a', total: 30, active: 0 }, { pool: 'p', id: 'b', total: 7, active: 2 }])
  let d = h.doc()
  t.equal(d.sampleTimes.length, 3)
  const a = d.backends.find((b) => b.id === 'a')!
  t.same(a.connRate, [null, 10, 0], 'first sample has no rate; then 20 connections over 2 s = 10/s; then none')
  t.same(a.active, [1, 5, 0])
  t.same(d.backends.find((b) => b.id === 'b')!.connRate, [null, null, null], 'a backend added later starts with nulls, aligned')

  for (let i = 0; i < 5; i++) {
    c.advance(1000)
    h.sample([{ pool: 'p', id: 'b', total: 7 + 3 * (i + 1), active: i }])
  }
  d = h.doc()
  t.equal(d.sampleTimes.length, 4, 'at most `samples` sample times')
  t.same(d.backends.map((b) => b.id), ['b'], 'a backend no longer sampled (removed by a reload) is dropped')
  t.same(d.backends[0].connRate, [3, 3, 3, 3], 'at most `samples` values, newest last')
  t.same(d.backends[0].active, [1, 2, 3, 4])
  t.equal(d.sampleTimes.at(-1), c.now())
})

t.test('a counter that went down never gives a negative rate', async (t) => {
  const c = clock()
  const h = new History({ now: c.now })
  h.sample([{ pool: 'p', id: 'a', total: 100, active: 0 }])
  c.advance(2000)
  h.sample([{ pool: 'p', id: 'a', total: 40, active: 0 }])
  t.same(h.doc().backends[0].connRate, [null, 0])
})

const change = (over: Partial<HealthChange>): HealthChange => ({ pool: 'p', id: 'a', kind: 'down', from: 'up', to: 'down', ejectedUntil: null, at: 5, detail: 'L4CON ECONNREFUSED', ...over })
const row = (id: string, state: StateRow['state'], admin: StateRow['admin'] = 'ready'): StateRow => ({ pool: 'p', id, state, admin })

t.test('timeline: health changes and state changes with reasons and checks, bounded', async (t) => {
  const c = clock()
  const h = new History({ events: 5, now: c.now })
  const fail: ProbeResult = { ok: false, detail: 'L4CON ECONNREFUSED', durationMs: 1 }
  h.settle([row('a', 'ready'), row('b', 'ready')], () => null)
  t.same(h.doc().events, [], 'the first settle is the baseline')

  h.noteHealth(change({}))
  c.advance(50)
  h.settle([row('a', 'down'), row('b', 'ready')], (_p, id) => (id === 'a' ? fail : null))
  let ev = h.doc().events
  t.same(ev.map((e) => [e.what, e.backend, e.from, e.to, e.reason]), [
    ['health', 'a', 'up', 'down', 'L4CON ECONNREFUSED'],
    ['state', 'a', 'ready', 'down', 'health down: L4CON ECONNREFUSED'],
  ])
  t.same(ev[0].check, fail, 'with the check result of then')
  t.equal(ev[0].at, 5, 'a health event keeps the change time')
  t.equal(ev[1].at, c.now(), 'a state event is stamped when decided')

  h.settle([row('a', 'down'), row('b', 'drain', 'drain')], () => null)
  h.noteHealth(change({ id: 'b', kind: 'eject', from: 'up', to: 'up', detail: 'passive: 5 consecutive connect failures' }))
  h.settle([row('a', 'down'), row('b', 'drain', 'drain')], () => null)
  ev = h.doc().events
  t.same(ev.slice(2).map((e) => [e.what, e.backend, e.from, e.to, e.reason]), [
    ['state', 'b', 'ready', 'drain', 'operator: drain'],
    ['health', 'b', 'up', 'ejected', 'passive: 5 consecutive connect failures'],
  ])

  h.settle([row('a', 'ready'), row('b', 'drain', 'drain')], () => null)
  h.settle([row('a', 'down'), row('b', 'drain', 'drain')], () => null)
  ev = h.doc().events
  t.equal(ev.length, 5, 'at most `events` kept')
  t.same([ev[0].what, ev[0].backend, ev[0].to], ['state', 'a', 'down'], 'the oldest (a health down) was dropped first')
  t.same(ev.at(-1)?.reason, 'health down: L4CON ECONNREFUSED', 'without a new health change, the last known one is the reason')
})

t.test('start samples at once and on the interval until stop', async (t) => {
  const h = new History({ intervalMs: 20 })
  let n = 0
  h.start(() => [{ pool: 'p', id: 'a', total: n++, active: 0 }])
  await holdFor(110) // the sampling window under test
  h.stop()
  const taken = h.doc().sampleTimes.length
  t.ok(taken >= 3 && taken <= 7, `${taken} samples in 110 ms at 20 ms`)
  await holdFor(60) // three intervals after stop: none may be taken
  t.equal(h.doc().sampleTimes.length, taken, 'none after stop')
})
