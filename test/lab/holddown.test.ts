// The lab's health hysteresis (lab/node/holddown.ts): brief failures inside the hold-down keep
// the node up, a failure that lasts withdraws it once, re-admission waits for a stable span,
// and with zero spans it is the plain fall/rise counter the lab had before (issue 10, kind 3).
import t from 'tap'
import { HoldDown } from '../../lab/node/holddown.ts'

/** Feeds "1"/"0" probe results every stepMs starting at t=0; returns the dampened state per step as a string. */
function run(h: HoldDown, results: string, startMs = 0, stepMs = 100): string {
  return [...results].map((r, i) => (h.observe(r === '1', startMs + i * stepMs) ? 'U' : 'd')).join('')
}

/** A dampener already up (brought up by enough good probes before t=0). */
function upAlready(o: ConstructorParameters<typeof HoldDown>[0]): HoldDown {
  const h = new HoldDown(o)
  for (let t = -o.upAfterMs - 1000; t < 0; t += 100) h.observe(true, t)
  return h
}

t.test('starts down and comes up only after rise probes spanning upAfterMs', async (t) => {
  t.equal(run(new HoldDown({ fall: 2, rise: 2, downAfterMs: 1000, upAfterMs: 500 }), '11111111'), 'dddddUUU', 'up at the probe 500 ms after the first good one')
})

t.test('a 0.4 s failure inside a 1 s hold-down never withdraws, five times over', async (t) => {
  const h = upAlready({ fall: 2, rise: 2, downAfterMs: 1000, upAfterMs: 0 })
  t.notMatch(run(h, '0000111111'.repeat(5)), /d/)
})

t.test('a lasting failure withdraws once, after downAfterMs, and re-admission waits upAfterMs', async (t) => {
  const h = upAlready({ fall: 2, rise: 2, downAfterMs: 1000, upAfterMs: 2000 })
  const s = run(h, '11' + '0'.repeat(15) + '1'.repeat(25))
  t.equal(s.slice(0, 12), 'U'.repeat(12), 'up through the first 1000 ms of failures')
  t.equal(s.indexOf('d'), 12, 'down at the first failure 1000 ms after the first failed probe (index 2)')
  t.equal(s.slice(12, 17), 'ddddd')
  t.equal(s.indexOf('U', 12), 37, 'up 2000 ms after the first good probe (index 17)')
  t.equal((s.match(/Ud/g) ?? []).length, 1, 'exactly one withdrawal')
})

t.test('a good probe restarts the failure span; a bad one restarts the good span', async (t) => {
  const h = new HoldDown({ fall: 1, rise: 1, downAfterMs: 300, upAfterMs: 300 })
  t.equal(run(h, '1111' + '001001001' + '0000'), 'dddU' + 'UUUUUUUUU' + 'UUUd')
})

t.test('with zero spans it is the old fall/rise counter: two failures withdraw, two successes re-admit', async (t) => {
  t.equal(run(new HoldDown({ fall: 2, rise: 2, downAfterMs: 0, upAfterMs: 0 }), '11001100'), 'dUUddUUd')
})

t.test('a node back from a short outage is still up but admissible only after a stable upAfterMs', async (t) => {
  const h = upAlready({ fall: 2, rise: 2, downAfterMs: 1000, upAfterMs: 2000 })
  run(h, '00001')
  t.ok(h.healthy, 'a 0.4 s outage does not bring it down')
  t.notOk(h.admissible(400), 'one good probe is not a stable span')
  run(h, '1'.repeat(20), 500)
  t.notOk(h.admissible(2300), '1900 ms of good probes is not enough')
  t.ok(h.admissible(2400), '2000 ms of good probes is')
})
