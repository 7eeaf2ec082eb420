// weigh-by: success-latency, the picker's math (p2c duel and random draw):
// weight × successRate / latency, no data counting as success 1. Seeded, so
// every count here replays exactly.
import t from 'tap'
import { createP2cPicker } from '../../src/balancer/p2c.ts'
import { createRandomPicker } from '../../src/balancer/random.ts'
import { backend, NONE, options, seeded, type TestBackend } from './helpers.ts'

const ON = { weighBy: 'success-latency' } as const

function shares(pick: () => TestBackend, set: readonly TestBackend[], n: number): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(set.map((b) => [b.id, 0]))
  for (let i = 0; i < n; i++) out[pick().id]++
  for (const k of Object.keys(out)) out[k] /= n
  return out
}

t.test('p2c: a proxy with a low success rate loses nearly every duel; off, it keeps its third', async (t) => {
  const make = () => {
    const set = [backend('failing'), backend('b'), backend('c')]
    for (const b of set) b.load.latencyEwmaMs = 10
    set[0].load.successRate = 1 / 11 // 10 failures in the window: (0 + 1) / (10 + 1)
    return set
  }
  const a = make()
  const on = createP2cPicker(a, options({ random: seeded(3), ...ON }))
  const sOn = shares(() => on.pick(0, NONE)!, a, 3000)
  t.equal(sOn.failing, 0, 'with equal connections every pair holding it has a better member')
  const b = make()
  const off = createP2cPicker(b, options({ random: seeded(3) }))
  const sOff = shares(() => off.pick(0, NONE)!, b, 3000)
  t.ok(sOff.failing > 0.3, `off: its third (${sOff.failing.toFixed(3)})`)
})

t.test('p2c: the score is (active + 1) × latency / (weight × successRate)', async (t) => {
  // Two backends: every duel is between them, so the lower score always wins.
  const cases = [
    // [successRate, latency, active, weight] of x and y, and the winner
    { x: [0.5, 10, 0, 1], y: [1, 30, 0, 1], win: 'x' }, // 20 < 30
    { x: [0.5, 10, 0, 1], y: [1, 15, 0, 1], win: 'y' }, // 20 > 15
    { x: [0.5, 10, 0, 2], y: [1, 15, 0, 1], win: 'x' }, // 10 < 15
    { x: [1, 10, 3, 1], y: [1, 30, 0, 1], win: 'y' }, // 40 > 30
    { x: [0.2, 0, 0, 1], y: [1, 50, 0, 1], win: 'y' }, // x has no latency: rates alone, 5 > 1
    { x: [1, 0, 0, 1], y: [0.9, 50, 0, 1], win: 'x' }, // 1 < 1.11
    { x: [0.5, 0.05, 0, 1], y: [1, 0.5, 0, 1], win: 'y' }, // latencies under 1 ms count as 1 ms: 2 > 1
  ] as const
  for (const { x, y, win } of cases) {
    const set = [backend('x', x[3]), backend('y', y[3])]
    for (const [b, [sr, lat, active]] of [[set[0], x], [set[1], y]] as const) Object.assign(b.load, { successRate: sr, latencyEwmaMs: lat, active })
    const p = createP2cPicker(set, options({ random: seeded(1), ...ON }))
    const winners = new Set(Array.from({ length: 50 }, () => p.pick(0, NONE)!.id))
    t.same([...winners], [win], JSON.stringify({ x, y }))
  }
})

t.test('p2c: no data (successRate absent) counts as 1', async (t) => {
  const set = [backend('nodata'), backend('half')]
  set[1].load.successRate = 0.5
  const p = createP2cPicker(set, options({ random: seeded(8), ...ON }))
  t.equal(p.pick(0, NONE)!.id, 'nodata')
})

t.test('random: draws in proportion to weight × successRate / latency', async (t) => {
  const set = [backend('a', 1), backend('b', 1), backend('c', 2)]
  set[0].load.successRate = 0.25
  set[0].load.latencyEwmaMs = 10
  set[1].load.latencyEwmaMs = 20
  set[2].load.latencyEwmaMs = 10
  // a: 0.025, b: 0.05, c: 0.2 -> 1/11, 2/11, 8/11
  const p = createRandomPicker(set, options({ random: seeded(42), ...ON }))
  const s = shares(() => p.pick(0, NONE)!, set, 100_000)
  t.ok(Math.abs(s.a - 1 / 11) < 0.01, `a ${s.a}`)
  t.ok(Math.abs(s.b - 2 / 11) < 0.01, `b ${s.b}`)
  t.ok(Math.abs(s.c - 8 / 11) < 0.01, `c ${s.c}`)
})

t.test('random: a backend with no latency yet gets the mean latency of the others', async (t) => {
  const set = [backend('new'), backend('fast'), backend('slow')]
  set[1].load.latencyEwmaMs = 10
  set[2].load.latencyEwmaMs = 30 // mean 20: new 1/20, fast 1/10, slow 1/30 -> 3/11, 6/11, 2/11
  const p = createRandomPicker(set, options({ random: seeded(5), ...ON }))
  const s = shares(() => p.pick(0, NONE)!, set, 100_000)
  t.ok(Math.abs(s.new - 3 / 11) < 0.01, `new ${s.new}`)
  t.ok(Math.abs(s.fast - 6 / 11) < 0.01, `fast ${s.fast}`)
  t.ok(Math.abs(s.slow - 2 / 11) < 0.01, `slow ${s.slow}`)
})

t.test('random: no data anywhere is plain weighted random', async (t) => {
  const set = [backend('a', 1), backend('b', 3)]
  const p = createRandomPicker(set, options({ random: seeded(6), ...ON }))
  const s = shares(() => p.pick(0, NONE)!, set, 40_000)
  t.ok(Math.abs(s.a - 0.25) < 0.015, `a ${s.a}`)
})

t.test('random: tried and maxconn are never drawn, the rest keep their ratio', async (t) => {
  const set = [backend('a'), backend('b', 1, 1), backend('c'), backend('d')]
  set[1].load.active = 1
  set[0].load.successRate = 0.5
  const p = createRandomPicker(set, options({ random: seeded(9), ...ON }))
  const s = shares(() => p.pick(0, [set[3]])!, set, 30_000)
  t.equal(s.b + s.d, 0)
  t.ok(Math.abs(s.a - 1 / 3) < 0.015, `a ${s.a} (0.5 against c's 1)`)
  t.equal(p.pick(0, [set[0], set[2], set[3]]), undefined)
})

t.test('random: seeded draws replay exactly', async (t) => {
  const set = [backend('a'), backend('b'), backend('c')]
  set[2].load.successRate = 0.3
  const run = () => {
    const p = createRandomPicker(set, options({ random: seeded(77), ...ON }))
    return Array.from({ length: 40 }, () => p.pick(0, NONE)!.id).join('')
  }
  t.equal(run(), run())
})
