import t from 'tap'
import {
  ejectionDenial,
  ejectionMs,
  endEarly,
  expire,
  maxEjectable,
  PASSIVE_INITIAL,
  report,
  type PassiveState,
} from '../../src/health/passive.ts'
import { passiveCfg } from './config.ts'

const cfg = passiveCfg({ consecutive: 3, baseEjectionMs: 1000, maxEjectionMs: 3500, maxEjectionPercent: 30 })
const alone = { size: 10, unavailable: 0, takingNewFlows: 9 }

/** Feed '+'/'-' reports at time `now`; returns the final state and the transitions seen. */
function feed(state: PassiveState, seq: string, now: number, pool = alone) {
  const seen: string[] = []
  for (const ch of seq) {
    const step = report(state, ch === '+', cfg, pool, now)
    state = step.state
    seen.push(step.transition ?? (step.denied !== null ? 'denied' : '.'))
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

// Pool sizes 1..5 x percents: how many backends passive ejection may take out
// when every backend keeps failing, the others all serving. Expected by hand:
// floor(size x percent / 100) as Envoy's `100 * (ejected + 1) / size <= max`
// (no always_eject_one_host), and never the last backend that can serve.
const EJECTABLE: Record<number, Record<number, number>> = {
  //    0%     10%    25%    50%    75%    100%
  1: { 0: 0, 10: 0, 25: 0, 50: 0, 75: 0, 100: 0 },
  2: { 0: 0, 10: 0, 25: 0, 50: 1, 75: 1, 100: 1 },
  3: { 0: 0, 10: 0, 25: 0, 50: 1, 75: 2, 100: 2 },
  4: { 0: 0, 10: 0, 25: 1, 50: 2, 75: 3, 100: 3 },
  5: { 0: 0, 10: 0, 25: 1, 50: 2, 75: 3, 100: 4 },
}

t.test('max-ejection-percent holds for every pool size, and the last backend stays', async (t) => {
  for (const [size, row] of Object.entries(EJECTABLE)) {
    for (const [pct, want] of Object.entries(row)) {
      const n = Number(size)
      const c = passiveCfg({ consecutive: 3, maxEjectionPercent: Number(pct) })
      const states: PassiveState[] = Array.from({ length: n }, () => PASSIVE_INITIAL)
      // every backend fails 3 times in turn; the guards see the others' ejections
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < n; i++) {
          for (let k = 0; k < 3; k++) {
            const ejected = states.filter((s, j) => j !== i && s.ejectedUntil !== null).length
            states[i] = report(states[i], false, c, { size: n, unavailable: ejected, takingNewFlows: n - 1 - ejected }, 0).state
          }
        }
      }
      const got = states.filter((s) => s.ejectedUntil !== null).length
      t.equal(got, want, `${n} backends at ${pct}%: ${want} ejectable`)
      t.equal(Math.min(maxEjectable(n, Number(pct)), n - 1), want, `maxEjectable(${n}, ${pct}) agrees`)
    }
  }
})

t.test('guards (which one refuses, and why)', async (t) => {
  // [size, other unavailable, others taking new flows, max %, denial]
  const table: [number, number, number, number, string | null][] = [
    [10, 0, 9, 30, null],
    [10, 2, 7, 30, null], // (2 + 1) / 10 = 30% <= 30%
    [10, 3, 6, 30, 'max-ejection-percent'], // 40% > 30%
    [1, 0, 0, 100, 'last-backend'], // a lone backend is never ejected
    [1, 0, 0, 50, 'last-backend'],
    [2, 0, 1, 50, null], // 1 of 2 = 50%
    [2, 0, 1, 49, 'max-ejection-percent'], // 49% of 2 rounds down to 0
    [2, 1, 0, 100, 'last-backend'], // the other one is already out
    [3, 0, 2, 0, 'max-ejection-percent'], // 0% means none (Envoy without always_eject_one_host)
    [4, 1, 2, 50, null], // one down by active checks + this one = 50%
    [4, 2, 1, 50, 'max-ejection-percent'],
    [3, 0, 0, 100, 'last-backend'], // the other two are drained or weight 0: they cannot serve
  ]
  for (const [size, unavailable, takingNewFlows, max, want] of table) {
    t.equal(ejectionDenial({ size, unavailable, takingNewFlows }, max), want, `${unavailable} out, ${takingNewFlows} taking new flows of ${size} at ${max}%`)
  }
})

t.test('a passing active check ends an ejection early; the multiplier stays', async (t) => {
  let s = feed(PASSIVE_INITIAL, '---', 100).state
  t.equal(s.ejectedAt, 100)
  const early = endEarly(s, 250)
  t.equal(early.transition, 'uneject')
  t.same(early.state, { ...s, ejectedAt: null, ejectedUntil: null, returnedAt: 250 })
  t.equal(endEarly(early.state, 300).transition, null, 'not ejected: nothing to end')
  s = feed(early.state, '---', 300).state
  t.equal((s.ejectedUntil as number) - 300, 2000, 'ejected again soon: the second ejection is longer')
})

t.test('a denied ejection restarts the run and does not eject', async (t) => {
  const crowded = { size: 10, unavailable: 3, takingNewFlows: 6 }
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
