// Ring's own properties (ketama via hashring): sorted points and wrap-around,
// arc shares, exact disruption, the clockwise fallback. Golden vectors,
// shuffle, spread, weights and disruption bounds: hashing-contract.test.ts,
// which every hashing policy runs.
import t from 'tap'
import { createRingPicker } from '../../src/balancer/ring.ts'
import { buildRingTable, RING_VNODES, ringIndex } from '../../src/balancer/ring-table.ts'
import { backend, clientHashes, FIVE, fleet, NONE, options } from './helpers.ts'

t.test('size: 4 points per vnode, 160 vnodes per backend of weight 1', async (t) => {
  t.equal(createRingPicker(FIVE.map((id) => backend(id)), options()).size, 5 * RING_VNODES * 4)
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

t.test('spread: arc shares near fair at N=20', async (t) => {
  const p = createRingPicker(fleet(20), options())
  const shares = [...p.arcShares().values()]
  t.ok(Math.abs(shares.reduce((a, b) => a + b) - 1) < 1e-9, 'shares sum to 1')
  const maxMean = Math.max(...shares) * 20
  // ketama with 640 points per backend: expect ~1.05-1.12; 1.2 would mean a bug
  t.ok(maxMean < 1.2, `max/mean ${maxMean.toFixed(4)}`)
  t.ok(Math.min(...shares) * 20 > 0.8, 'min/mean')
})

t.test('disruption: removing one backend moves exactly its arc, and nothing else (stricter than the contract)', async (t) => {
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
