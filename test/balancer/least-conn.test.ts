// Weighted least connections with rotating ties.
import t from 'tap'
import { createLeastConnPicker } from '../../src/balancer/least-conn.ts'
import { backend, NONE, options } from './helpers.ts'

t.test('picks the lowest (active+1)/weight', async (t) => {
  const set = [backend('a'), backend('b'), backend('c')]
  const p = createLeastConnPicker(set, options())
  set[0].load.active = 5
  set[1].load.active = 2
  set[2].load.active = 7
  t.equal(p.pick(0, NONE)!.id, 'b')
  set[2].weight = 4 // (7+1)/4 = 2 < (2+1)/1
  const q = createLeastConnPicker(set, options())
  t.equal(q.pick(0, NONE)!.id, 'c')
})

t.test('ties rotate instead of sticking to the first', async (t) => {
  const set = [backend('a'), backend('b'), backend('c')]
  const p = createLeastConnPicker(set, options())
  t.equal(Array.from({ length: 6 }, () => p.pick(0, NONE)!.id).join(' '), 'a b c a b c')
})

t.test('simulated flows fill backends in proportion to weight', async (t) => {
  const set = [backend('a', 1), backend('b', 2), backend('c', 5)]
  const p = createLeastConnPicker(set, options())
  for (let i = 0; i < 800; i++) p.pick(0, NONE)!.load.active++
  t.same(set.map((b) => b.load.active), [100, 200, 500])
})

t.test('tried and maxconn are skipped even when least loaded', async (t) => {
  const set = [backend('a'), backend('b', 1, 1), backend('c')]
  const p = createLeastConnPicker(set, options())
  set[0].load.active = 3
  set[1].load.active = 1 // at maxconn 1
  set[2].load.active = 0
  t.equal(p.pick(0, [set[2]])!.id, 'a')
  t.equal(p.pick(0, [set[0], set[2]]), undefined)
})
