// Weighted random with an injected seeded generator.
import t from 'tap'
import { createRandomPicker } from '../../src/balancer/random.ts'
import { backend, NONE, options, seeded } from './helpers.ts'

t.test('draws in proportion to weight', async (t) => {
  const set = [backend('a', 1), backend('b', 2), backend('c', 7)]
  const p = createRandomPicker(set, options({ random: seeded(42) }))
  const counts: Record<string, number> = { a: 0, b: 0, c: 0 }
  for (let i = 0; i < 100000; i++) counts[p.pick(0, NONE)!.id]++
  // sd of a share over 100k draws is < 0.0015; allow 0.01
  t.ok(Math.abs(counts.a / 1e5 - 0.1) < 0.01, `a ${counts.a}`)
  t.ok(Math.abs(counts.b / 1e5 - 0.2) < 0.01, `b ${counts.b}`)
  t.ok(Math.abs(counts.c / 1e5 - 0.7) < 0.01, `c ${counts.c}`)
})

t.test('an unavailable draw is redrawn among the rest, keeping their weights', async (t) => {
  const set = [backend('a', 1), backend('b', 3), backend('c', 6)]
  const p = createRandomPicker(set, options({ random: seeded(7) }))
  const counts: Record<string, number> = { a: 0, b: 0, c: 0 }
  for (let i = 0; i < 40000; i++) counts[p.pick(0, [set[2]])!.id]++
  t.equal(counts.c, 0)
  t.ok(Math.abs(counts.a / 40000 - 0.25) < 0.015, `a ${counts.a}`)
  set[0].maxconn = 1
  set[0].load.active = 1
  t.equal(p.pick(0, [set[2]])!.id, 'b')
  t.equal(p.pick(0, [set[1], set[2]]), undefined)
})

t.test('draws are seeded from the injected generator (reproducible)', async (t) => {
  const set = [backend('a'), backend('b'), backend('c'), backend('d')]
  const run = (seed: number): string => {
    const p = createRandomPicker(set, options({ random: seeded(seed) }))
    return Array.from({ length: 20 }, () => p.pick(0, NONE)!.id).join('')
  }
  t.equal(run(3), run(3), 'same seed, same sequence')
  t.not(run(3), run(4), 'another seed, another sequence')
})
