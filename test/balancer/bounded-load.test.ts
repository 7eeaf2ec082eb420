// Bounded load for the hashing pickers: a hot backend is capped at
// ceil(f x (poolActive+1) x w/W) and the overflow goes, deterministically, to
// the next backend in the key's hash order.
import t from 'tap'
import type { BackendLoad, Picker, PickerOptions } from '../../src/balancer/picker.ts'
import { policiesTaking } from '../../src/balancer/policies.ts'
import { createPicker } from '../../src/balancer/registry.ts'
import { clientHashes, fleet, NONE, options, shuffled, type TestBackend } from './helpers.ts'

// Every policy whose row in the table takes balance-factor.
const TAKERS = policiesTaking('balance-factor')
t.ok(TAKERS.length >= 2, 'the table lists policies with bounded load')

for (const name of TAKERS) {
  const create = (b: readonly TestBackend[], o: PickerOptions): Picker<TestBackend> => createPicker(name, b, o)
  t.test(`${name}: a hot key's overflow goes to the next in hash order`, async (t) => {
    const set = fleet(5)
    const poolLoad: BackendLoad = { active: 0, latencyEwmaMs: 0 }
    const p = create(set, options({ balanceFactor: 1.25, poolLoad }))
    const plain = create(set, options())
    const h = clientHashes(1)[0]
    const home = plain.pick(h, NONE)!
    const next = plain.pick(h, [home])!
    t.equal(p.pick(h, NONE), home, 'idle pool: the home backend')
    // home holds 10 of the pool's 10 connections: cap = ceil(1.25 x 11 / 5) = 3
    home.load.active = 10
    poolLoad.active = 10
    t.equal(p.pick(h, NONE), next, 'over its cap: the next backend in hash order')
    // the same answer from an independently built picker over a shuffled list
    const again = create(shuffled(set, 9), options({ balanceFactor: 1.25, poolLoad }))
    t.equal(again.pick(h, NONE), next, 'deterministic across pickers and orders')
    // pool 12: cap = ceil(1.25 x 13 / 5) = 4
    poolLoad.active = 12
    home.load.active = 3
    t.equal(p.pick(h, NONE), home, 'one below the cap: home')
    home.load.active = 4
    t.equal(p.pick(h, NONE), next, 'at the cap: taking one more would exceed it')
  })

  t.test(`${name}: a skewed stream never pushes a backend above its cap`, async (t) => {
    const f = 1.25
    const keys = clientHashes(200)
    /** 2000 flows that never close, half of them from one hot client. */
    function run(factor: number, withPoolLoad: boolean): { max: number; violations: number } {
      const set = fleet(5)
      const poolLoad: BackendLoad = { active: 0, latencyEwmaMs: 0 }
      const p = create(set, options({ balanceFactor: factor, poolLoad: withPoolLoad ? poolLoad : undefined }))
      let violations = 0
      for (let i = 0; i < 2000; i++) {
        const h = i % 2 === 0 ? keys[0] : keys[i % 200]
        const cap = Math.ceil((f * (poolLoad.active + 1)) / 5)
        const b = p.pick(h, NONE)!
        if (b.load.active + 1 > cap) violations++
        b.load.active++
        poolLoad.active++
      }
      return { max: Math.max(...set.map((b) => b.load.active)), violations }
    }
    const off = run(0, true)
    t.ok(off.max >= 1000, `unbounded: the hot client's backend holds ${off.max}`)
    t.ok(off.violations > 0, 'unbounded: the cap is exceeded')
    for (const withPoolLoad of [true, false]) {
      const on = run(f, withPoolLoad)
      const how = withPoolLoad ? 'poolLoad given' : 'pool summed'
      t.equal(on.violations, 0, `bounded (${how}): no backend ever above its cap`)
      t.ok(on.max <= Math.ceil((f * 2000) / 5), `bounded (${how}): max ${on.max} <= 500`)
    }
  })

  t.test(`${name}: weights scale the cap`, async (t) => {
    const set = fleet(2)
    set[0].weight = 3
    set[1].weight = 1
    const poolLoad: BackendLoad = { active: 0, latencyEwmaMs: 0 }
    const p = create(set, options({ balanceFactor: 1.5, poolLoad }))
    const h0 = clientHashes(400).find((h) => p.pick(h, NONE) === set[1])!
    // set[1] cap with pool 7: ceil(1.5 x 8 x 1/4) = 3
    set[1].load.active = 2
    poolLoad.active = 7
    t.equal(p.pick(h0, NONE), set[1], 'light backend under its cap')
    set[1].load.active = 3
    t.equal(p.pick(h0, NONE), set[0], 'light backend at its cap')
  })

  t.test(`${name}: availability beats the bound`, async (t) => {
    const set = fleet(2)
    const poolLoad: BackendLoad = { active: 0, latencyEwmaMs: 0 }
    const p = create(set, options({ balanceFactor: 1.1, poolLoad }))
    const h = clientHashes(1)[0]
    const home = p.pick(h, NONE)!
    const other = set[0] === home ? set[1] : set[0]
    home.load.active = 100
    poolLoad.active = 100
    t.equal(p.pick(h, NONE), other, 'overflow to the other')
    t.equal(p.pick(h, [other]), home, 'the other was tried: home takes it above its cap')
    other.maxconn = 1
    other.load.active = 1
    poolLoad.active = 101
    t.equal(p.pick(h, NONE), home, 'the other is at maxconn: home takes it above its cap')
    t.equal(p.pick(h, [home]), undefined, 'nothing available: none')
  })
}
