// Power of two choices, with and without connect-latency weighting.
import t from 'tap'
import { createP2cPicker } from '../../src/balancer/p2c.ts'
import { backend, NONE, options, seeded } from './helpers.ts'

t.test('the more loaded of any pair never wins', async (t) => {
  const set = [backend('busy'), backend('b'), backend('c')]
  set[0].load.active = 10
  const p = createP2cPicker(set, options({ random: seeded(5) }))
  const counts: Record<string, number> = { busy: 0, b: 0, c: 0 }
  for (let i = 0; i < 3000; i++) counts[p.pick(0, NONE)!.id]++
  t.equal(counts.busy, 0, 'with 3 backends every pair has a less loaded member')
  t.ok(counts.b > 1200 && counts.c > 1200, 'the others share')
})

t.test('simulated flows: load stays level', async (t) => {
  const set = Array.from({ length: 10 }, (_, i) => backend(`p${i}`))
  const p = createP2cPicker(set, options({ random: seeded(11) }))
  for (let i = 0; i < 1000; i++) p.pick(0, NONE)!.load.active++
  const loads = set.map((b) => b.load.active)
  // pure random would spread ~100 +- 30; two choices keep it within a few
  t.ok(Math.max(...loads) - Math.min(...loads) <= 6, `spread ${loads.join(',')}`)
})

t.test('latency weighting: a slow proxy gets fewer new flows', async (t) => {
  function share(p2cLatency: boolean): number {
    const set = [backend('slow'), backend('f1'), backend('f2')]
    set[0].load.latencyEwmaMs = 80
    set[1].load.latencyEwmaMs = 10
    set[2].load.latencyEwmaMs = 10
    const p = createP2cPicker(set, options({ random: seeded(9), p2cLatency }))
    let slow = 0
    for (let i = 0; i < 3000; i++) {
      const b = p.pick(0, NONE)!
      if (b === set[0]) slow++
      b.load.active++ // flows stay open: connections pile up
    }
    return slow / 3000
  }
  const off = share(false)
  const on = share(true)
  t.ok(off > 0.3, `without latency the slow one gets its third (${off.toFixed(3)})`)
  t.ok(on < 0.2, `with latency it gets clearly less (${on.toFixed(3)})`)
})

t.test('unknown latency (0) compares on connections alone', async (t) => {
  const set = [backend('new'), backend('known')]
  set[1].load.latencyEwmaMs = 500
  const p = createP2cPicker(set, options({ random: seeded(2), p2cLatency: true }))
  set[0].load.active = 3
  set[1].load.active = 1
  t.equal(p.pick(0, NONE)!.id, 'known')
})

t.test('tried and maxconn are never drawn', async (t) => {
  const set = [backend('a'), backend('b', 1, 2), backend('c'), backend('d')]
  set[1].load.active = 2
  const p = createP2cPicker(set, options({ random: seeded(4) }))
  const seen = new Set<string>()
  for (let i = 0; i < 500; i++) seen.add(p.pick(0, [set[3]])!.id)
  t.same([...seen].sort(), ['a', 'c'])
  t.equal(p.pick(0, [set[0], set[2], set[3]]), undefined)
  t.equal(p.pick(0, [set[0], set[3]])!.id, 'c', 'one left: that one')
})
