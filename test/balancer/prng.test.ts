// The pickers' internal generator: reproducible, in range, roughly uniform.
import t from 'tap'
import { Prng30 } from '../../src/balancer/prng.ts'
import { seeded } from './helpers.ts'

t.test('same seed, same stream; values in [0, 2^30)', async (t) => {
  const a = new Prng30(seeded(1))
  const b = new Prng30(seeded(1))
  let same = true
  let inRange = true
  for (let i = 0; i < 1000; i++) {
    const x = a.next30()
    if (x !== b.next30()) same = false
    if (!Number.isInteger(x) || x < 0 || x >= 2 ** 30) inRange = false
  }
  t.ok(same)
  t.ok(inRange)
  t.not(new Prng30(seeded(1)).next30(), new Prng30(seeded(2)).next30())
  // An all-zero xoshiro state would return 0 forever; the constructor must avoid it.
  const zero = new Prng30(() => 0)
  const outs = Array.from({ length: 8 }, () => zero.next30())
  t.ok(new Set(outs).size >= 7, `an all-zero seed still yields varied numbers: ${outs.join(' ')}`)
})

t.test('below(n) is uniform over [0, n)', async (t) => {
  const p = new Prng30(seeded(8))
  const counts = new Uint32Array(10)
  for (let i = 0; i < 100000; i++) counts[p.below(10)]++
  // 10000 expected, sd ~95: allow 5 sd
  for (const c of counts) t.ok(Math.abs(c - 10000) < 475, `${c}`)
  let zeroSeen = false
  const z = new Prng30(() => 0)
  for (let i = 0; i < 64; i++) if (z.below(2) === 1) zeroSeen = true
  t.ok(zeroSeen, 'a zero seed does not stick at 0')
})
