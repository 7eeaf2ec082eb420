// Maglev's own properties: table shares within 1% of fair and of weight, the
// fallback's even spread, table sizing. Golden vectors, shuffle, spread and
// disruption: hashing-contract.test.ts, which every hashing policy runs.
import t from 'tap'
import { createMaglevPicker } from '../../src/balancer/maglev.ts'
import { buildMaglevTable, maglevTableSize } from '../../src/balancer/maglev-table.ts'
import { nextPrime } from '../../src/balancer/prime.ts'
import { backend, clientHashes, fleet, NONE, options, type TestBackend } from './helpers.ts'

t.test('spread: table shares within 1% of fair at N=100, M=65537 (tighter than the contract)', async (t) => {
  const p = createMaglevPicker(fleet(100), options())
  const counts = [...p.slotCounts().values()]
  const mean = p.tableSize / 100
  t.ok(Math.max(...counts) / mean <= 1.01, `max/mean ${(Math.max(...counts) / mean).toFixed(4)}`)
  t.ok(Math.min(...counts) / mean >= 0.99, `min/mean ${(Math.min(...counts) / mean).toFixed(4)}`)
  // sampled: 200k keys over 100 backends, 2000 each, sd ~45 (2.2%): allow 6 sd
  const sampled = new Map<TestBackend, number>()
  for (const h of clientHashes(200000)) {
    const b = p.pick(h, NONE)!
    sampled.set(b, (sampled.get(b) ?? 0) + 1)
  }
  t.equal(sampled.size, 100)
  t.ok(Math.max(...sampled.values()) / 2000 < 1.14, 'sampled max/mean')
})

t.test('weights: table share proportional to weight', async (t) => {
  const set = [backend('a', 1), backend('b', 2), backend('c', 3), backend('d', 4)]
  const p = createMaglevPicker(set, options())
  const counts = p.slotCounts()
  for (const b of set) {
    const share = counts.get(b)! / p.tableSize
    const want = b.weight / 10
    t.ok(Math.abs(share - want) < 0.005, `${b.id}: ${share.toFixed(4)} vs ${want}`)
  }
})

t.test('fallback when the first choice is unavailable spreads over the others', async (t) => {
  const set = fleet(5)
  const p = createMaglevPicker(set, options())
  const counts = new Map<TestBackend | undefined, number>()
  let onFirst = 0
  for (const h of clientHashes(50000)) {
    if (p.pick(h, NONE) !== set[0]) continue
    onFirst++
    const b = p.pick(h, [set[0]])
    counts.set(b, (counts.get(b) ?? 0) + 1)
  }
  t.notOk(counts.has(set[0]) || counts.has(undefined), 'never the tried one, never none')
  t.equal(counts.size, 4, 'every other backend takes a part')
  // ~2500 keys per backend: 25% +- 2.5 points is about 3 sd
  for (const [b, c] of counts) t.ok(Math.abs(c / onFirst - 0.25) < 0.025, `${b!.id} share ${(c / onFirst).toFixed(3)}`)
  set[0].maxconn = 1
  set[0].load.active = 1
  let chosen = 0
  for (const h of clientHashes(2000)) if (p.pick(h, NONE) === set[0]) chosen++
  t.equal(chosen, 0, 'at maxconn: skipped')
})

t.test('table sizing', async (t) => {
  t.equal(nextPrime(100000), 100003)
  t.equal(nextPrime(65537), 65537)
  t.equal(maglevTableSize(0, 3), 65537)
  t.equal(maglevTableSize(65537, 1000), 100003, 'raised to >= 100 x N')
  t.equal(maglevTableSize(65536, 10), 65537, 'a non-prime is rounded up')
  t.equal(createMaglevPicker(fleet(3), options({ tableSize: 1009 })).tableSize, 1009)
  t.same([...buildMaglevTable([], [], 7)], [-1, -1, -1, -1, -1, -1, -1])
  const table = buildMaglevTable(['x'], [1], 7)
  t.same([...table], [0, 0, 0, 0, 0, 0, 0], 'one backend owns every slot')
  t.equal(createMaglevPicker(NONE, options()).pick(123, NONE), undefined)
})
