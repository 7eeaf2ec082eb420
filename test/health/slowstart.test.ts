import t from 'tap'
import { effectiveWeight, nextWeightChangeAt } from '../../src/health/slowstart.ts'

// [weight, since, slowstart, now, expected]
const table: readonly [number, number | null, number, number, number][] = [
  [100, null, 10_000, 5_000, 100], // never left service: full weight
  [100, 0, 0, 0, 100], // slow start off
  [100, 0, 10_000, 0, 1], // just back: floor of 1
  [100, 0, 10_000, 1, 1], // ceil(0.01) = 1
  [100, 0, 10_000, 100, 1],
  [100, 0, 10_000, 101, 2], // ceil(1.01)
  [100, 0, 10_000, 2_500, 25],
  [100, 0, 10_000, 5_000, 50],
  [100, 0, 10_000, 9_999, 100], // ceil(99.99)
  [100, 0, 10_000, 10_000, 100],
  [100, 0, 10_000, 50_000, 100],
  [1, 0, 10_000, 1, 1], // weight 1 stays 1
  [3, 0, 9_000, 3_000, 1],
  [3, 0, 9_000, 3_001, 2],
  [3, 0, 9_000, 6_001, 3],
  [0, 0, 10_000, 5_000, 0], // weight 0 stays 0
  [0, null, 10_000, 5_000, 0],
  [256, 1_000, 8_000, 500, 1], // clock before since: counts as 0 elapsed
]

t.test('effectiveWeight table', async (t) => {
  for (const [w, since, ss, now, want] of table) {
    t.equal(effectiveWeight(w, since, ss, now), want, `w=${w} since=${since} ss=${ss} now=${now}`)
  }
})

t.test('effectiveWeight is monotonic and within [1, weight] during slow start', async (t) => {
  let prev = 0
  for (let now = 0; now <= 12_000; now += 37) {
    const w = effectiveWeight(50, 0, 10_000, now)
    t.ok(w >= prev && w >= 1 && w <= 50, `now=${now} w=${w}`)
    prev = w
  }
  t.equal(prev, 50)
})

t.test('nextWeightChangeAt points at the first instant the weight changes', async (t) => {
  for (const [w, ss] of [
    [100, 10_000],
    [3, 9_000],
    [7, 1_000],
    [256, 60_000],
  ] as const) {
    let now = 0
    let steps = 0
    for (; steps < 1000; steps++) {
      const at = nextWeightChangeAt(w, 0, ss, now)
      if (at === null) break
      t.ok(at > now, 'in the future')
      const before = effectiveWeight(w, 0, ss, now)
      t.equal(effectiveWeight(w, 0, ss, at - 1), before, `unchanged just before ${at}`)
      t.not(effectiveWeight(w, 0, ss, at), before, `changed at ${at}`)
      now = at
    }
    t.equal(effectiveWeight(w, 0, ss, now), w, `w=${w} reaches full weight`)
    t.ok(steps <= w, `w=${w}: at most one change per weight unit (${steps})`)
  }
  t.equal(nextWeightChangeAt(100, null, 10_000, 0), null, 'no slow start')
  t.equal(nextWeightChangeAt(100, 0, 10_000, 10_000), null, 'done')
  t.equal(nextWeightChangeAt(0, 0, 10_000, 0), null, 'weight 0')
  t.equal(nextWeightChangeAt(1, 0, 10_000, 0), null, 'weight 1 never changes')
})
