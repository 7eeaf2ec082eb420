// Every policy: skips tried, maxconn and weight-0 backends; returns undefined
// when none is possible (empty set, all tried, all full).
import t from 'tap'
import { createPicker, POLICY_NAMES } from '../../src/balancer/registry.ts'
import { isHashing } from '../../src/balancer/policies.ts'
import { clientHashes, fleet, NONE, options } from './helpers.ts'

const HASHES = clientHashes(300)

for (const policy of POLICY_NAMES) {
  t.test(policy, async (t) => {
    t.equal(createPicker(policy, NONE, options()).pick(1, NONE), undefined, 'no backends: none')

    const set = fleet(4)
    const p = createPicker(policy, set, options({ balanceFactor: isHashing(policy) ? 1.5 : 0 }))
    t.equal(p.name, policy)
    let bad = 0
    const seen = new Set<string>()
    for (const h of HASHES) {
      const b = p.pick(h, [set[0], set[2]])
      if (b === undefined || b === set[0] || b === set[2]) bad++
      else seen.add(b.id)
    }
    t.equal(bad, 0, 'tried backends are never returned, and the rest can serve')
    t.same([...seen].sort(), [set[1].id, set[3].id].sort(), 'both untried backends are used')
    t.equal(p.pick(HASHES[0], set), undefined, 'all tried: none')

    set[3].maxconn = 5
    set[3].load.active = 5
    for (const h of HASHES) if (p.pick(h, [set[0], set[2]]) !== set[1]) bad++
    t.equal(bad, 0, 'at maxconn: skipped, the last one takes everything')
    set[1].maxconn = 1
    set[1].load.active = 1
    t.equal(p.pick(HASHES[0], [set[0], set[2]]), undefined, 'all full or tried: none')
    set[3].load.active = 4
    t.equal(p.pick(HASHES[0], [set[0], set[2]]), set[3], 'below maxconn again: available')

    const zero = fleet(3)
    zero[1].weight = 0
    const z = createPicker(policy, zero, options())
    let zeroPicked = 0
    for (const h of HASHES) if (z.pick(h, NONE) === zero[1]) zeroPicked++
    t.equal(zeroPicked, 0, 'weight 0 takes no new flows')
  })
}

// A snapshot applied while a flow connects rebuilds the backend records: the
// retry must still skip what already refused this flow (the same ids, new objects).
for (const policy of POLICY_NAMES) {
  t.test(`${policy}: a backend tried before a rebuild is still skipped after it`, async (t) => {
    const before = fleet(3)
    const after = fleet(3) // same ids, new records, as PoolRuntime.apply makes them
    const p = createPicker(policy, after, options())
    let again = 0
    for (const h of HASHES) {
      const b = p.pick(h, [before[0], before[1]])
      if (b === undefined || b.id === before[0].id || b.id === before[1].id) again++
    }
    t.equal(again, 0, 'never the backends that already refused the flow; the third one takes it')
  })
}
