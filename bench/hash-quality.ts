// Hash quality of the hashing pickers (every policy of the table in
// src/balancer/policies.ts with the `hashing` trait): spread, disruption,
// build time and pick cost, printed as a markdown table (npm run bench:hash).
//
// Keys: 1M distinct client IPv4 addresses (i × 2654435761 mod 2^32, a
// bijection), each hashed once with hashFlow('src-ip'). For each hashing
// policy and N in 3, 10, 100, 1000 equal-weight backends:
// - sampled max/mean: the busiest backend's key count over the mean (K / N);
// - share max/mean: the largest share of the lookup structure a backend owns
//   (Picker.shares: maglev's table slots, ring's arc of the circle; "-"
//   for a picker without it) over 1/N, i.e. the
//   expected load with infinitely many keys, free of sampling noise;
// - uniform max/mean: what a perfect balancer scores on K keys, i.e. pure
//   sampling noise (multinomial draw with a fixed-seed PRNG), for reference;
// - moved: keys whose backend changed when one backend is removed (mean over
//   removing the first, middle and last backend), vs the optimum 1/N;
//   "collateral" counts moved keys that were NOT on the removed backend
//   (ideally 0). A table size (`maglev-table-size`) is sized for the full
//   set, so it stays put;
// - table-size sensitivity at N = 100 for the policies that take
//   `maglev-table-size`: the same figures at larger M;
// - build: median of 3 table builds; pick: median ns per pick over the K keys.
// Bounded in time: about 20-40 s in all on a shared 2-core machine.
import { hashFlow } from '../src/balancer/hash.ts'
import { defaultMaglevTableSize } from '../src/balancer/maglev-table.ts'
import { HASHING_POLICIES, policiesTaking, takesOption, type PolicyName } from '../src/balancer/policies.ts'
import { createPicker, DEFAULT_PICKER_OPTIONS } from '../src/balancer/registry.ts'
import type { Picker, PickerBackend } from '../src/balancer/picker.ts'

const KEYS = 1_000_000
const SIZES = [3, 10, 100, 1000]
const EMPTY: readonly PickerBackend[] = Object.freeze([])

interface Built {
  picker: Picker<PickerBackend>
  structure: string // "M=65537" for a policy with a table size, else "-"
  shares: number[] | null // share of the structure per backend, sums to 1; null: not reported
}

// `full` is the size of the whole backend set: the table size is sized for it
// (as config validation does) so that removing a backend does not change M.
// `m` overrides the table size (sensitivity rows).
function build(policy: PolicyName, backends: readonly PickerBackend[], full: number, m?: number): Built {
  const sized = takesOption(policy, 'maglev-table-size')
  const tableSize = m ?? defaultMaglevTableSize(full) // what a config without maglev-table-size gets
  const picker = createPicker(policy, backends, { ...DEFAULT_PICKER_OPTIONS, tableSize })
  const shares = picker.shares === undefined ? null : [...picker.shares().values()]
  return { picker, structure: sized ? `M=${(picker as { tableSize?: number }).tableSize ?? tableSize}` : '-', shares }
}

function makeBackends(n: number): PickerBackend[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:3128`,
    weight: 1,
    maxconn: 0,
    load: { active: 0, latencyEwmaMs: 0 },
  }))
}

function makeKeys(): { hashes: Uint32Array; nsPerHash: number } {
  const addrs: string[] = new Array(KEYS)
  for (let i = 0; i < KEYS; i++) {
    const a = Number((BigInt(i) * 2654435761n) & 0xffffffffn)
    addrs[i] = `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`
  }
  const hashes = new Uint32Array(KEYS)
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < KEYS; i++) hashes[i] = hashFlow('src-ip', addrs[i], 0)
  const ns = Number(process.hrtime.bigint() - t0)
  return { hashes, nsPerHash: ns / KEYS }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[s.length >> 1]
}

/** Assign every key; returns the backend index per key (Int32Array). */
function assign(picker: Picker<PickerBackend>, index: Map<PickerBackend, number>, hashes: Uint32Array): Int32Array {
  const out = new Int32Array(hashes.length)
  for (let i = 0; i < hashes.length; i++) {
    const b = picker.pick(hashes[i], EMPTY)
    out[i] = b === undefined ? -1 : index.get(b)!
  }
  return out
}

function pickNs(picker: Picker<PickerBackend>, hashes: Uint32Array): number {
  const runs: number[] = []
  let sink = 0
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint()
    for (let i = 0; i < hashes.length; i++) if (picker.pick(hashes[i], EMPTY) !== undefined) sink++
    runs.push(Number(process.hrtime.bigint() - t0) / hashes.length)
  }
  if (sink !== 3 * hashes.length) throw new Error('a pick returned undefined')
  return median(runs)
}

/** Max/mean of a perfect balancer on `keys` keys over n bins: multinomial noise only. */
function uniformMaxMean(n: number, keys: number): number {
  let s = 0x2545f491 // mulberry32, fixed seed
  const rnd = (): number => {
    s = (s + 0x6d2b79f5) | 0
    let t = Math.imul(s ^ (s >>> 15), 1 | s)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const counts = new Uint32Array(n)
  for (let i = 0; i < keys; i++) counts[Math.floor(rnd() * n)]++
  return Math.max(...counts) / (keys / n)
}

interface Row {
  policy: PolicyName
  n: number
  structure: string
  buildMs: number
  sampled: number
  share: number | null
  uniform: number
  moved: number
  collateral: number
  ns: number
}

function measure(policy: PolicyName, n: number, hashes: Uint32Array, uniform: number, m?: number): Row {
  const backends = makeBackends(n)
  const index = new Map(backends.map((b, i) => [b, i]))
  const times: number[] = []
  let built: Built | undefined
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint()
    built = build(policy, backends, n, m)
    times.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }
  const { picker, structure, shares } = built!
  const before = assign(picker, index, hashes)
  const counts = new Uint32Array(n)
  for (let i = 0; i < before.length; i++) counts[before[i]]++
  // remove the first, middle and last backend in turn; report the means
  const removals = [0, n >> 1, n - 1]
  let moved = 0
  let collateral = 0
  for (const removed of removals) {
    const rest = backends.filter((_, i) => i !== removed)
    const after = assign(build(policy, rest, n, m).picker, index, hashes)
    for (let i = 0; i < before.length; i++) {
      if (before[i] !== after[i]) {
        moved++
        if (before[i] !== removed) collateral++
      }
    }
  }
  return {
    policy,
    n,
    structure,
    buildMs: median(times),
    sampled: Math.max(...counts) / (hashes.length / n),
    share: shares === null ? null : Math.max(...shares) * n,
    uniform,
    moved: moved / removals.length / hashes.length,
    collateral: collateral / removals.length / hashes.length,
    ns: pickNs(picker, hashes),
  }
}

function main(): void {
  const started = Date.now()
  const { hashes, nsPerHash } = makeKeys()
  const uniform = new Map(SIZES.map((n) => [n, uniformMaxMean(n, KEYS)]))
  const rows: Row[] = []
  for (const policy of HASHING_POLICIES) {
    for (const n of SIZES) rows.push(measure(policy, n, hashes, uniform.get(n)!))
  }
  for (const policy of policiesTaking('maglev-table-size')) {
    for (const m of [65537, 655373]) rows.push(measure(policy, 100, hashes, uniform.get(100)!, m))
  }
  const pct = (x: number): string => `${(x * 100).toFixed(2)}%`
  console.log(`Hash quality: ${KEYS.toLocaleString('en')} client IPv4 keys, equal weights, node ${process.version}`)
  console.log(`hashFlow('src-ip'): ${nsPerHash.toFixed(0)} ns/key\n`)
  console.log('| policy | N | table | build ms | max/mean sampled | max/mean share | max/mean uniform (noise) | moved on removal | optimum 1/N | collateral moved | ns/pick |')
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
  for (const r of rows) {
    console.log(
      `| ${r.policy} | ${r.n} | ${r.structure} | ${r.buildMs.toFixed(1)} | ${r.sampled.toFixed(4)} | ${r.share === null ? '-' : r.share.toFixed(4)} | ${r.uniform.toFixed(4)} | ${pct(r.moved)} | ${pct(1 / r.n)} | ${pct(r.collateral)} | ${r.ns.toFixed(0)} |`,
    )
  }
  const m100 = rows.find((r) => r.policy === 'maglev' && r.n === 100)
  if (m100?.share != null) console.log(
    `\nTarget maglev N=100: share max/mean ${m100.share.toFixed(4)} (<= 1.01: ${m100.share <= 1.01 ? 'met' : 'NOT met'}), ` +
      `sampled ${m100.sampled.toFixed(4)} (<= 1.01: ${m100.sampled <= 1.01 ? 'met' : 'NOT met'}; uniform noise alone gives ${m100.uniform.toFixed(4)}), ` +
      `moved ${pct(m100.moved)} (<= 1.5%: ${m100.moved <= 0.015 ? 'met' : 'NOT met'})`,
  )
  console.log(`Total ${((Date.now() - started) / 1000).toFixed(1)} s`)
}

main()
