import t from 'tap'
import { changing, INITIAL, next, type DampenerState } from '../../src/health/dampener.ts'
import type { HealthVerdict } from '../../src/health/types.ts'

// Each case: rise, fall, a sequence of probe results ('+' ok, '-' fail), and the
// verdict and transition after each step.
interface Case {
  readonly name: string
  readonly rise: number
  readonly fall: number
  readonly start?: DampenerState
  readonly seq: string
  readonly verdicts: readonly HealthVerdict[]
  readonly transitions: readonly ('up' | 'down' | null)[]
}

const U = 'unknown' as const
const cases: Case[] = [
  { name: 'starts unknown, first success is up', rise: 2, fall: 3, seq: '+', verdicts: ['up'], transitions: ['up'] },
  {
    name: 'unknown falls after fall failures',
    rise: 2,
    fall: 3,
    seq: '---',
    verdicts: [U, U, 'down'],
    transitions: [null, null, 'down'],
  },
  {
    name: 'unknown: a success among failures gives up',
    rise: 2,
    fall: 3,
    seq: '--+',
    verdicts: [U, U, 'up'],
    transitions: [null, null, 'up'],
  },
  {
    name: 'up stays up on successes',
    rise: 2,
    fall: 3,
    seq: '++++',
    verdicts: ['up', 'up', 'up', 'up'],
    transitions: ['up', null, null, null],
  },
  {
    name: 'up goes down after fall consecutive failures',
    rise: 2,
    fall: 3,
    seq: '+---',
    verdicts: ['up', 'up', 'up', 'down'],
    transitions: ['up', null, null, 'down'],
  },
  {
    name: 'a success resets the fall streak',
    rise: 2,
    fall: 3,
    seq: '+--+--+',
    verdicts: ['up', 'up', 'up', 'up', 'up', 'up', 'up'],
    transitions: ['up', null, null, null, null, null, null],
  },
  {
    name: 'down comes back after rise consecutive successes',
    rise: 2,
    fall: 3,
    seq: '---++',
    verdicts: [U, U, 'down', 'down', 'up'],
    transitions: [null, null, 'down', null, 'up'],
  },
  {
    name: 'a failure resets the rise streak (flapping stays down)',
    rise: 3,
    fall: 2,
    seq: '--++-++-+++',
    verdicts: [U, 'down', 'down', 'down', 'down', 'down', 'down', 'down', 'down', 'down', 'up'],
    transitions: [null, 'down', null, null, null, null, null, null, null, null, 'up'],
  },
  {
    name: 'flapping up/down every probe never goes down with fall 2',
    rise: 2,
    fall: 2,
    seq: '+-+-+-+-',
    verdicts: ['up', 'up', 'up', 'up', 'up', 'up', 'up', 'up'],
    transitions: ['up', null, null, null, null, null, null, null],
  },
  {
    name: 'rise 1 and fall 1 follow every probe',
    rise: 1,
    fall: 1,
    seq: '+-+-',
    verdicts: ['up', 'down', 'up', 'down'],
    transitions: ['up', 'down', 'up', 'down'],
  },
  {
    name: 'rise/fall 0 behave as 1',
    rise: 0,
    fall: 0,
    seq: '-+',
    verdicts: ['down', 'up'],
    transitions: ['down', 'up'],
  },
  {
    name: 'down stays down on failures',
    rise: 2,
    fall: 2,
    start: { verdict: 'down', streak: 0 },
    seq: '---',
    verdicts: ['down', 'down', 'down'],
    transitions: [null, null, null],
  },
]

for (const c of cases) {
  t.test(c.name, async (t) => {
    let state = c.start ?? INITIAL
    const verdicts: HealthVerdict[] = []
    const transitions: ('up' | 'down' | null)[] = []
    for (const ch of c.seq) {
      const step = next(state, ch === '+', c.rise, c.fall)
      state = step.state
      verdicts.push(state.verdict)
      transitions.push(step.transition)
    }
    t.same(verdicts, c.verdicts, 'verdicts')
    t.same(transitions, c.transitions, 'transitions')
  })
}

t.test('initial state is unknown with no progress', async (t) => {
  t.equal(INITIAL.verdict, 'unknown')
  t.equal(changing(INITIAL), false)
})

t.test('changing() is true only between states', async (t) => {
  let s = next(INITIAL, true, 2, 3).state
  t.equal(changing(s), false, 'up, settled')
  s = next(s, false, 2, 3).state
  t.equal(changing(s), true, 'up with one failure')
  s = next(next(s, false, 2, 3).state, false, 2, 3).state
  t.equal(s.verdict, 'down')
  t.equal(changing(s), false, 'down, settled')
  s = next(s, true, 2, 3).state
  t.equal(changing(s), true, 'down with one success')
})

t.test('next() does not mutate its input', async (t) => {
  // Not frozen: a frozen input would make the check below unable to fail (a write would
  // throw instead). Every branch of next() that computes a new streak is run on its own copy.
  for (const [verdict, ok] of [['up', false], ['up', true], ['down', true], ['down', false], ['unknown', false], ['unknown', true]] as const) {
    const s: DampenerState = { verdict, streak: 1 }
    const out = next(s, ok, 3, 3)
    t.same(s, { verdict, streak: 1 }, `${verdict} + ${ok ? 'pass' : 'fail'}: the input state is unchanged`)
    t.not(out.state, s, `${verdict} + ${ok ? 'pass' : 'fail'}: a new state object`)
  }
})
