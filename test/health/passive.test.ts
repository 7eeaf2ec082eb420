import t from 'tap'
import {
  ejectionAllowed,
  ejectionMs,
  expire,
  PASSIVE_INITIAL,
  report,
  type PassiveState,
} from '../../src/health/passive.ts'
import { passiveCfg } from './config.ts'

const cfg = passiveCfg({ consecutive: 3, baseEjectionMs: 1000, maxEjectionMs: 3500, maxEjectionPercent: 30 })
const alone = { size: 10, unavailable: 0 }

/** Feed '+'/'-' reports at time `now`; returns the final state and the transitions seen. */
function feed(state: PassiveState, seq: string, now: number, pool = alone) {
  const seen: string[] = []
  for (const ch of seq) {
    const step = report(state, ch === '+', cfg, pool, now)
    state = step.state
    seen.push(step.transition ?? (step.denied ? 'denied' : '.'))
  }
  return { state, seen: seen.join(' ') }
}

t.test('consecutive failures eject; a success resets the run', async (t) => {
  const cases: [string, string][] = [
    ['--', '. .'],
    ['---', '. . eject'],
    ['--+--', '. . . . .'],
    ['--+---', '. . . . . eject'],
    ['+++', '. . .'],
  ]
  for (const [seq, want] of cases) t.equal(feed(PASSIVE_INITIAL, seq, 0).seen, want, seq)
})

t.test('ejection length grows with ejections in a row, capped', async (t) => {
  let s = PASSIVE_INITIAL
  let now = 0
  const lengths: number[] = []
  for (let i = 0; i < 5; i++) {
    s = feed(s, '---', now).state
    t.not(s.ejectedUntil, null, `ejection ${i + 1}`)
    lengths.push((s.ejectedUntil as number) - now)
    now = s.ejectedUntil as number
    const back = expire(s, now)
    t.equal(back.transition, 'uneject')
    s = back.state
  }
  t.same(lengths, [1000, 2000, 3000, 3500, 3500], 'base x n, capped at max')
  t.equal(s.ejections, 5)
})

t.test('the multiplier decays while the backend stays in service', async (t) => {
  let s = feed(PASSIVE_INITIAL, '---', 0).state // 1st: 1000
  s = expire(s, 1000).state
  s = feed(s, '---', 1000).state // 2nd in a row: 2000
  t.equal(s.ejectedUntil, 3000)
  s = expire(s, 3000).state
  // decay period = max(max, base) = 3500: 7000 ms later the multiplier dropped by 2
  s = feed(s, '---', 10_000).state
  t.equal(s.multiplier, 1)
  t.equal(s.ejectedUntil, 11_000, 'back to base length')
  t.equal(s.ejections, 3, 'total ejections keep counting')
})

t.test('reports while ejected are ignored; expiry only at ejectedUntil', async (t) => {
  const s = feed(PASSIVE_INITIAL, '---', 0).state
  t.equal(feed(s, '------', 10).seen, '. . . . . .')
  t.equal(feed(s, '------', 10).state, s, 'state unchanged')
  t.equal(expire(s, 999).transition, null, 'not yet')
  const back = expire(s, 1000)
  t.equal(back.transition, 'uneject')
  t.equal(back.state.ejectedUntil, null)
  t.equal(back.state.returnedAt, 1000)
  t.equal(expire(PASSIVE_INITIAL, 5).transition, null, 'not ejected: nothing to expire')
})

t.test('consecutive 0 turns passive ejection off', async (t) => {
  const off = passiveCfg({ consecutive: 0 })
  let s = PASSIVE_INITIAL
  for (let i = 0; i < 50; i++) s = report(s, false, off, alone, i).state
  t.equal(s.ejectedUntil, null)
  t.equal(s, PASSIVE_INITIAL)
})

t.test('max-percent guard (Envoy: at least one; then only while below the percentage)', async (t) => {
  // [size, other unavailable, max %, allowed]
  const table: [number, number, number, boolean][] = [
    [10, 0, 30, true],
    [10, 2, 30, true], // 20% < 30%
    [10, 3, 30, false], // 30% is not below 30%
    [10, 9, 100, true],
    [4, 1, 30, true], // 25% < 30%: a second one may go (one beyond the percentage)
    [4, 2, 30, false],
    [1, 0, 10, true], // a lone backend may be ejected
    [3, 0, 0, true], // even at 0%, one may go (Envoy)
    [3, 1, 0, false],
    [0, 1, 50, false],
  ]
  for (const [size, unavailable, max, want] of table) {
    t.equal(ejectionAllowed({ size, unavailable }, max), want, `${unavailable}/${size} at ${max}%`)
  }
})

t.test('a denied ejection restarts the run and does not eject', async (t) => {
  const crowded = { size: 10, unavailable: 3 }
  const r = feed(PASSIVE_INITIAL, '---', 0, crowded)
  t.equal(r.seen, '. . denied')
  t.equal(r.state.ejectedUntil, null)
  t.equal(r.state.failures, 0)
  t.equal(r.state.ejections, 0)
  t.equal(feed(r.state, '---', 5, alone).seen, '. . eject', 'ejects once room is back')
})

t.test('ejectionMs with max below base uses base', async (t) => {
  const odd = passiveCfg({ baseEjectionMs: 5000, maxEjectionMs: 1000 })
  t.equal(ejectionMs(odd, 1), 5000)
  t.equal(ejectionMs(odd, 4), 5000)
})
