// The hashing contract: every policy whose row in src/balancer/policies.ts has
// the `hashing` trait runs this suite, without an edit here. What it checks
// is what lets every worker and every balancer node agree and keep clients
// on their backend (STYLE.md habit 4; envoy maglev_lb_test.cc
// `expected_assignments`, ring_hash_lb_benchmark.cc `percent_different`):
// - golden vectors pinned in golden/<policy>.json (first choice, fallback,
//   weighted set): a failure means deployed clients would move;
// - a shuffled backend list gives the same first choices and fallbacks;
// - spread: sampled load near fair, proportional to weight, and equal to the
//   structure's own shares when the picker reports them (Picker.shares);
// - minimal disruption: removing or adding one of N backends moves about 1/N
//   of the keys, nearly all of them from or to that backend;
// - the fallback never returns the tried backend and spreads over the others.
// Policy-specific properties (table sizing, exact arcs) stay in <policy>.test.ts.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { HASHING_POLICIES, type PolicyName } from '../../src/balancer/policies.ts'
import { createPicker } from '../../src/balancer/registry.ts'
import type { Picker } from '../../src/balancer/picker.ts'
import { backend, clientHashes, FIVE, fleet, goldenIds, NONE, options, shuffled, type TestBackend } from './helpers.ts'

interface Golden {
  readonly first: string[]
  readonly fallback: string[]
  readonly weighted: string[]
}

const build = (policy: PolicyName, set: readonly TestBackend[]): Picker<TestBackend> => createPicker(policy, set, options())

/** Count picks per backend over `hashes`. */
function tally(p: Picker<TestBackend>, hashes: Uint32Array): Map<TestBackend | undefined, number> {
  const counts = new Map<TestBackend | undefined, number>()
  for (const h of hashes) {
    const b = p.pick(h, NONE)
    counts.set(b, (counts.get(b) ?? 0) + 1)
  }
  return counts
}

t.ok(HASHING_POLICIES.length >= 2, 'the table has hashing policies')

for (const policy of HASHING_POLICIES) {
  t.test(`${policy}: golden vectors`, async (t) => {
    const five = build(policy, FIVE.map((id) => backend(id)))
    const weighted = build(policy, [backend('w1', 1), backend('w2', 2), backend('w3', 3)])
    const computed: Golden = { first: goldenIds(five), fallback: goldenIds(five, true), weighted: goldenIds(weighted) }
    let golden: Golden
    try {
      golden = JSON.parse(readFileSync(new URL(`golden/${policy}.json`, import.meta.url), 'utf8')) as Golden
    } catch {
      // A new policy: review these, then pin them in golden/<policy>.json.
      t.fail(`no test/balancer/golden/${policy}.json; computed now: ${JSON.stringify(computed)}`)
      return
    }
    t.same(computed.first, golden.first, 'first choice per key')
    t.same(computed.fallback, golden.fallback, 'fallback when the first choice was tried')
    t.same(computed.weighted, golden.weighted, 'weighted set')
    // The pinned vectors themselves are meaningful: every backend appears, a
    // fallback never repeats the first choice, the heaviest weight leads.
    t.same(new Set(golden.first).size, FIVE.length, 'every backend appears')
    t.ok(golden.fallback.every((id, i) => id !== golden.first[i]), 'each fallback differs from the first choice')
    const w3 = golden.weighted.filter((id) => id === 'w3').length
    t.ok(w3 > golden.weighted.filter((id) => id === 'w1').length, `w3 (weight 3) leads: ${w3} of 16`)
  })

  t.test(`${policy}: a shuffled backend list gives the same picks and fallbacks`, async (t) => {
    const base = fleet(50)
    const hashes = clientHashes(20000)
    const a = build(policy, base)
    for (const seed of [1, 2, 3]) {
      const b = build(policy, shuffled(base, seed))
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

  t.test(`${policy}: spread near fair, and proportional to weight`, async (t) => {
    const n = 20
    const set = fleet(n)
    const p = build(policy, set)
    const keys = 200_000
    const counts = tally(p, clientHashes(keys))
    t.notOk(counts.has(undefined), 'every key gets a backend')
    t.equal(counts.size, n, 'every backend takes keys')
    // 10,000 keys per backend (sd 1%): a hashing policy with a fair structure
    // stays well inside +-25%; ketama with 640 points per backend is ~1.1.
    const mean = keys / n
    t.ok(Math.max(...counts.values()) / mean < 1.25, `max/mean ${(Math.max(...counts.values()) / mean).toFixed(4)}`)
    t.ok(Math.min(...counts.values()) / mean > 0.75, `min/mean ${(Math.min(...counts.values()) / mean).toFixed(4)}`)
    const shares = p.shares?.()
    if (shares !== undefined) {
      t.ok(Math.abs([...shares.values()].reduce((a, b) => a + b, 0) - 1) < 1e-9, 'reported shares sum to 1')
      // sampled vs structure share: 200k keys, sd of a share ~0.0005
      let worst = 0
      for (const b of set) worst = Math.max(worst, Math.abs(counts.get(b)! / keys - shares.get(b)!))
      t.ok(worst < 0.003, `sampled load matches the reported shares (worst gap ${worst.toFixed(5)})`)
    }
    const w = [backend('a', 1), backend('b', 2), backend('c', 3), backend('d', 4)]
    const wc = tally(build(policy, w), clientHashes(keys))
    for (const b of w) {
      const share = wc.get(b)! / keys
      t.ok(Math.abs(share - b.weight / 10) < 0.2 * (b.weight / 10), `${b.id} (weight ${b.weight}): ${share.toFixed(4)} vs ${b.weight / 10}`)
    }
  })

  for (const change of ['remove', 'add'] as const) {
    t.test(`${policy}: minimal disruption when one of N backends is ${change === 'remove' ? 'removed' : 'added'}`, async (t) => {
      const n = 20
      const all = fleet(n)
      const odd = all[7]
      const without = all.filter((b) => b !== odd)
      // The table size comes from the options, not the set (as the config sizes it for the whole pool).
      const [before, after] = change === 'remove' ? [build(policy, all), build(policy, without)] : [build(policy, without), build(policy, all)]
      const hashes = clientHashes(100_000)
      let moved = 0
      let collateral = 0
      let wrong = 0
      for (const h of hashes) {
        const x = before.pick(h, NONE)!
        const y = after.pick(h, NONE)!
        if (change === 'remove' ? y === odd : x === odd) wrong++
        if (x === y) continue
        moved++
        if (x !== odd && y !== odd) collateral++ // moved between backends that stayed
      }
      t.equal(wrong, 0, change === 'remove' ? 'nothing maps to the removed backend' : 'nothing mapped to the backend before it came')
      const frac = moved / hashes.length
      t.ok(frac > 0.5 / n && frac < 1.5 / n, `moved ${frac.toFixed(4)}, optimum 1/N = ${1 / n}`)
      t.ok(collateral / hashes.length < 0.01, `collateral ${(collateral / hashes.length).toFixed(4)} < 1%`)
    })
  }

  t.test(`${policy}: the fallback skips the tried backend and spreads over the others`, async (t) => {
    const set = fleet(5)
    const p = build(policy, set)
    const counts = new Map<TestBackend | undefined, number>()
    for (const h of clientHashes(50000)) {
      if (p.pick(h, NONE) !== set[0]) continue
      const b = p.pick(h, [set[0]])
      counts.set(b, (counts.get(b) ?? 0) + 1)
    }
    t.notOk(counts.has(set[0]) || counts.has(undefined), 'never the tried one, never none')
    t.equal(counts.size, 4, 'every other backend takes a part')
  })
}
