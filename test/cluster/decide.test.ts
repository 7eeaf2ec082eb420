// The primary's pure decision: admin state × health × ejection → state;
// slow start ramps weights for weighted policies but not for hashing ones.
import t from 'tap'
import { HASHING_POLICIES, isHashing, POLICY_NAMES } from '../../src/balancer/policies.ts'
import { decide } from '../../src/cluster/decide.ts'
import { parseConfig } from '../../src/config/load.ts'
import type { BackendHealth } from '../../src/health/types.ts'

function config(policy: string) {
  const r = parseConfig(`
listeners: [ { bind: 127.0.0.1:0 } ]
pools:
  - name: p
    policy: ${policy}
    slowstart: 10s
    backends: [ { id: a, host: 127.0.0.1, port: 1, weight: 100 }, { id: b, host: 127.0.0.1, port: 2, weight: 100 } ]
`)
  if (!r.ok) throw new Error(JSON.stringify(r.errors))
  return r.config
}

const health = (id: string, over: Partial<BackendHealth>): BackendHealth => ({
  pool: 'p', id, verdict: 'up', ejectedUntil: null, check: { result: null, at: null }, changedAt: 0, ejections: 0, slowstartSince: null, agent: null, ...over,
})

t.test('states', async (t) => {
  const h = new Map([
    ['p/a', health('a', { verdict: 'down' })],
    ['p/b', health('b', { ejectedUntil: 2000 })],
  ])
  const none = { states: new Map(), weights: new Map() }
  let d = decide(config('round-robin'), h, none, 1, 1000)
  t.same(d.snapshot.pools[0].backends.map((b) => b.state), ['down', 'ready'], 'b ejected, but the only one that could serve')
  d = decide(config('round-robin'), new Map([['p/b', health('b', { ejectedUntil: 2000 })]]), none, 1, 1000)
  t.same(d.snapshot.pools[0].backends.map((b) => b.state), ['ready', 'down'], 'ejected while a serves')
  d = decide(config('round-robin'), h, none, 2, 3000)
  t.same(d.snapshot.pools[0].backends.map((b) => b.state), ['down', 'ready'], 'ejection over')
  d = decide(config('round-robin'), new Map(), { states: new Map([['p/a', 'drain' as const]]), weights: new Map([['p/b', 7]]) }, 3, 0)
  t.same(d.snapshot.pools[0].backends, [{ id: 'a', state: 'drain', weight: 100 }, { id: 'b', state: 'ready', weight: 7 }])
  t.ok(Object.isFrozen(d.snapshot.pools[0].backends[0]), 'snapshots are immutable')
})

t.test('slow start ramps weighted policies, not hashing ones', async (t) => {
  const h = new Map([['p/a', health('a', { slowstartSince: 0 })]])
  const none = { states: new Map(), weights: new Map() }
  // Every policy of the table, by its `hashing` trait: a new policy is covered here without an edit.
  for (const policy of POLICY_NAMES.filter((n) => !isHashing(n))) {
    const d = decide(config(policy), h, none, 1, 2500)
    t.equal(d.snapshot.pools[0].backends[0].weight, 25, `${policy}: a quarter of the way`)
    t.ok(d.nextChangeAt !== null, `${policy}: a republish is scheduled`)
  }
  t.ok(HASHING_POLICIES.length > 0)
  for (const policy of HASHING_POLICIES) {
    const d = decide(config(policy), h, none, 1, 2500)
    t.equal(d.snapshot.pools[0].backends[0].weight, 100, `${policy}: full weight at once`)
    t.equal(d.nextChangeAt, null, `${policy}: nothing to republish`)
  }
})

t.test('an ejection never empties a pool: ejected backends return when nothing else serves', async (t) => {
  const none = { states: new Map(), weights: new Map() }
  const states = (h: Map<string, BackendHealth>, o = none) => decide(config('round-robin'), h, o, 1, 1000).snapshot.pools[0].backends.map((b) => b.state)
  const ejected = health('a', { ejectedUntil: 5000 })
  t.same(states(new Map([['p/a', ejected]])), ['down', 'ready'], 'b serves: a stays ejected')
  t.same(states(new Map([['p/a', ejected], ['p/b', health('b', { verdict: 'down' })]])), ['ready', 'down'], 'b down by its checks: a is back')
  t.same(states(new Map([['p/a', ejected]]), { states: new Map([['p/b', 'drain' as const]]), weights: new Map() }), ['ready', 'drain'], 'b drained: a is back')
  t.same(states(new Map([['p/a', ejected]]), { states: new Map(), weights: new Map([['p/b', 0]]) }), ['ready', 'ready'], 'b at weight 0: a is back')
  t.same(
    states(new Map([['p/a', ejected], ['p/b', health('b', { ejectedUntil: 5000 })]])),
    ['ready', 'ready'],
    'both ejected (e.g. by a reload that removed the rest): both back',
  )
  t.same(
    states(new Map([['p/a', health('a', { verdict: 'down', ejectedUntil: 5000 })], ['p/b', health('b', { verdict: 'down' })]])),
    ['down', 'down'],
    'an ejected backend its checks call down stays down',
  )
  t.same(
    states(new Map([['p/a', ejected], ['p/b', health('b', { verdict: 'down' })]]), { states: new Map([['p/a', 'drain' as const]]), weights: new Map() }),
    ['down', 'down'],
    'an ejected backend the operator drained stays out',
  )
})

t.test('agent check: its drain/maint add to the operator\'s, its down to the checks\', its N% scales the weight', async (t) => {
  const view = (over: Partial<NonNullable<BackendHealth['agent']>>): BackendHealth['agent'] => ({
    address: '127.0.0.1:9', down: false, admin: 'ready', percent: null, line: null, lineAt: null, ignored: null, polls: 1, ignoredTotal: 0, source: 'local' as const, leader: null, ...over,
  })
  const none = { states: new Map(), weights: new Map() }
  const run = (a: BackendHealth['agent'], overrides: Parameters<typeof decide>[2] = none) =>
    decide(config('round-robin'), new Map([['p/a', health('a', { agent: a })]]), overrides, 1, 0).snapshot.pools[0].backends[0]
  t.same(run(null), { id: 'a', state: 'ready', weight: 100 }, 'no agent: as configured')
  t.same(run(view({})), { id: 'a', state: 'ready', weight: 100 }, 'an agent that said nothing yet changes nothing')
  t.same(run(view({ admin: 'drain', percent: 40 })), { id: 'a', state: 'drain', weight: 40 })
  t.same(run(view({ admin: 'maint' })), { id: 'a', state: 'maint', weight: 100 })
  t.same(run(view({ down: true })), { id: 'a', state: 'down', weight: 100 }, 'agent down: down although the checks say up')
  t.same(run(view({ percent: 0 })), { id: 'a', state: 'ready', weight: 0 }, '0%: weight 0, no new flows')
  t.same(run(view({ admin: 'ready' }), { states: new Map([['p/a', 'drain' as const]]), weights: new Map() }).state, 'drain', 'the agent\'s ready does not undo the operator\'s drain')
  t.same(run(view({ admin: 'drain' }), { states: new Map([['p/a', 'maint' as const]]), weights: new Map() }).state, 'maint', 'the stronger of the two wins')
  t.same(run(view({ percent: 50 }), { states: new Map(), weights: new Map([['p/a', 10]]) }).weight, 5, 'the percentage applies to the operator\'s weight')
})
