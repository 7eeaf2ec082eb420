// Ring (ketama via hashring): golden vectors, order independence, spread,
// disruption, weights, deterministic clockwise fallback.
import t from 'tap'
import { createRingPicker } from '../../src/balancer/ring.ts'
import { buildRingTable, RING_VNODES, ringIndex } from '../../src/balancer/ring-table.ts'
import { backend, clientHashes, FIVE, fleet, goldenIds, NONE, options, shuffled } from './helpers.ts'


// Golden vectors: computed once (hashring 3.2.0, md5, 160 vnodes x 4 points)
// and reviewed (every backend appears; each fallback differs from the first
// choice; the weighted set favours w3), then pinned. A failure means clients
// would move: a hashring upgrade that changes its points must be deliberate.
const GOLDEN = [
  'proxy-d:3128', 'proxy-a:3128', 'proxy-e:3128', 'proxy-d:3128', 'proxy-c:3128', 'proxy-b:3128', 'proxy-e:3128', 'proxy-a:3128',
  'proxy-e:3128', 'proxy-d:3128', 'proxy-d:3128', 'proxy-c:3128', 'proxy-c:3128', 'proxy-e:3128', 'proxy-a:3128', 'proxy-c:3128',
]
const GOLDEN_FALLBACK = [
  'proxy-c:3128', 'proxy-d:3128', 'proxy-a:3128', 'proxy-b:3128', 'proxy-d:3128', 'proxy-a:3128', 'proxy-d:3128', 'proxy-e:3128',
  'proxy-d:3128', 'proxy-e:3128', 'proxy-a:3128', 'proxy-e:3128', 'proxy-a:3128', 'proxy-b:3128', 'proxy-e:3128', 'proxy-b:3128',
]
const GOLDEN_WEIGHTED = ['w3', 'w2', 'w1', 'w3', 'w3', 'w3', 'w2', 'w2', 'w1', 'w2', 'w3', 'w3', 'w2', 'w3', 'w3', 'w3']


t.test('golden vectors', async (t) => {
  const p = createRingPicker(FIVE.map((id) => backend(id)), options())
  t.equal(p.size, 5 * RING_VNODES * 4)
  t.same(goldenIds(p), GOLDEN, 'first choice per key')
  t.same(goldenIds(p, true), GOLDEN_FALLBACK, 'fallback when the first choice was tried')
  const w = createRingPicker([backend('w1', 1), backend('w2', 2), backend('w3', 3)], options())
  t.same(goldenIds(w), GOLDEN_WEIGHTED, 'weighted set')
})

t.test('points are sorted; the search finds the first point >= hash, wrapping', async (t) => {
  const { points, owners } = buildRingTable(['a', 'b'], [1, 1])
  t.equal(points.length, owners.length)
  let sorted = true
  for (let i = 1; i < points.length; i++) if (points[i - 1] > points[i]) sorted = false
  t.ok(sorted)
  t.equal(ringIndex(points, 0), 0)
  t.equal(ringIndex(points, points[3]), 3, 'exactly on a point')
  t.equal(ringIndex(points, points[3] + 1), 4)
  t.equal(ringIndex(points, points[points.length - 1] + 1), 0, 'past the last point wraps')
  t.same(buildRingTable([], []).points.length, 0)
  t.equal(createRingPicker(NONE, options()).pick(1, NONE), undefined)
})

t.test('order-independent: shuffled backends give the same picks', async (t) => {
  const base = fleet(50)
  const hashes = clientHashes(20000)
  const a = createRingPicker(base, options())
  for (const seed of [1, 2, 3]) {
    const b = createRingPicker(shuffled(base, seed), options())
    let diff = 0
    let diffFallback = 0
    for (const h of hashes) {
      const x = a.pick(h, NONE)!
      const y = b.pick(h, NONE)!
      if (x !== y) diff++
      if (a.pick(h, [x]) !== b.pick(h, [y])) diffFallback++
    }
    t.equal(diff, 0, `seed ${seed}: same first choice`)
    t.equal(diffFallback, 0, `seed ${seed}: same fallback`)
  }
})

t.test('spread: arc shares near fair at N=20', async (t) => {
  const p = createRingPicker(fleet(20), options())
  const shares = [...p.arcShares().values()]
  t.ok(Math.abs(shares.reduce((a, b) => a + b) - 1) < 1e-9, 'shares sum to 1')
  const maxMean = Math.max(...shares) * 20
  // ketama with 640 points per backend: expect ~1.05-1.12; 1.2 would mean a bug
  t.ok(maxMean < 1.2, `max/mean ${maxMean.toFixed(4)}`)
  t.ok(Math.min(...shares) * 20 > 0.8, 'min/mean')
})

t.test('disruption: removing one of N moves ~1/N and nothing else', async (t) => {
  const n = 20
  const all = fleet(n)
  const before = createRingPicker(all, options())
  const gone = all[7]
  const after = createRingPicker(all.filter((b) => b !== gone), options())
  const hashes = clientHashes(100000)
  let moved = 0
  let collateral = 0
  for (const h of hashes) {
    const x = before.pick(h, NONE)!
    const y = after.pick(h, NONE)!
    if (x !== y) {
      moved++
      if (x !== gone) collateral++
    }
  }
  t.equal(collateral, 0, 'keys on other backends stay')
  const share = before.arcShares().get(gone)!
  t.ok(Math.abs(moved / hashes.length - share) < 0.005, `moved ${moved / hashes.length} = the removed arc ${share.toFixed(4)}`)
  t.ok(share > 0.03 && share < 0.07, 'the removed arc is about 1/N')
})

t.test('weights: arc share proportional to weight', async (t) => {
  const set = [backend('a', 1), backend('b', 2), backend('c', 3), backend('d', 4)]
  const shares = createRingPicker(set, options()).arcShares()
  for (const b of set) {
    const want = b.weight / 10
    // ketama's spread is a few percent: allow 20% relative
    t.ok(Math.abs(shares.get(b)! - want) < 0.2 * want, `${b.id}: ${shares.get(b)!.toFixed(4)} vs ${want}`)
  }
})

t.test('fallback walks clockwise: tried and maxconn are skipped', async (t) => {
  const set = fleet(5)
  const p = createRingPicker(set, options())
  let wrong = 0
  let none = 0
  for (const h of clientHashes(5000)) {
    const first = p.pick(h, NONE)!
    const second = p.pick(h, [first])
    if (second === undefined) none++
    else if (second === first) wrong++
    const third = p.pick(h, [first, second!])
    if (third === first || third === second) wrong++
  }
  t.equal(wrong, 0)
  t.equal(none, 0)
  // the fallback is the owner of the next point clockwise that is not the first choice
  const { points, owners } = buildRingTable(set.map((b) => b.id), set.map((b) => b.weight))
  let mismatch = 0
  for (const h of clientHashes(500)) {
    let i = ringIndex(points, h)
    const first = owners[i]
    while (owners[i] === first) i = (i + 1) % points.length
    if (p.pick(h, [set[first]]) !== set[owners[i]]) mismatch++
    if (p.pick(h, NONE) !== set[first]) mismatch++
  }
  t.equal(mismatch, 0, 'matches a manual clockwise walk')
  t.equal(p.pick(1, set), undefined, 'all tried: none')
  set[2].maxconn = 3
  set[2].load.active = 3
  let chosen = 0
  for (const h of clientHashes(2000)) if (p.pick(h, NONE) === set[2]) chosen++
  t.equal(chosen, 0, 'at maxconn: skipped')
})
