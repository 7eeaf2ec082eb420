// Smooth weighted round-robin: nginx's sequence, proportions, skipping.
import t from 'tap'
import { createWeightedRoundRobinPicker } from '../../src/balancer/weighted-round-robin.ts'
import { createRoundRobinPicker } from '../../src/balancer/round-robin.ts'
import { backend, NONE, options } from './helpers.ts'

t.test('weights 5,1,1 give nginx\'s a a b a c a a, and repeat', async (t) => {
  const set = [backend('a', 5), backend('b', 1), backend('c', 1)]
  const p = createWeightedRoundRobinPicker(set, options())
  const seq = Array.from({ length: 14 }, () => p.pick(0, NONE)!.id).join(' ')
  t.equal(seq, 'a a b a c a a a a b a c a a')
})

t.test('proportional over a cycle', async (t) => {
  const set = [backend('x', 3), backend('y', 2), backend('z', 1)]
  const p = createWeightedRoundRobinPicker(set, options())
  const counts: Record<string, number> = { x: 0, y: 0, z: 0 }
  for (let i = 0; i < 600; i++) counts[p.pick(0, NONE)!.id]++
  t.same(counts, { x: 300, y: 200, z: 100 })
})

t.test('tried and maxconn backends are passed over', async (t) => {
  const set = [backend('a', 5), backend('b', 1), backend('c', 1)]
  const p = createWeightedRoundRobinPicker(set, options())
  const seq = Array.from({ length: 6 }, () => p.pick(0, [set[0]])!.id).join(' ')
  t.equal(seq, 'b c b c b c')
  set[1].maxconn = 2
  set[1].load.active = 2
  t.equal(p.pick(0, [set[0]])!.id, 'c')
  t.equal(p.pick(0, [set[0], set[2]]), undefined)
})

t.test('round-robin cycles in list order, ignoring weights, skipping tried', async (t) => {
  const set = [backend('a', 5), backend('b', 1), backend('c', 1)]
  const p = createRoundRobinPicker(set, options())
  t.equal(Array.from({ length: 6 }, () => p.pick(0, NONE)!.id).join(' '), 'a b c a b c')
  t.equal(Array.from({ length: 4 }, () => p.pick(0, [set[1]])!.id).join(' '), 'a c a c')
  t.equal(p.pick(0, set), undefined)
})
