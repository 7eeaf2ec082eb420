// Child process for alloc.test.ts (run with --expose-gc and a large young
// generation so no scavenge runs inside a measured loop). For each picker,
// prints bytes of heap growth per pick, after warm-up, minus the same loop
// over a picker that does nothing (the loop's own cost, e.g. boxing a uint32
// argument). A deliberately allocating picker is measured too, as a control
// that the method can see allocation at all.
// The flow hashes are shifted below 2^30: V8 boxes a uint32 >= 2^30 into a
// HeapNumber when it passes one as an argument to a call it did not inline,
// and that allocation is the caller's (it depends on the call site, so the
// no-op baseline cannot cancel it), not the picker's.
import { createPicker, POLICY_NAMES } from '../../src/balancer/registry.ts'
import { createPoolPicker } from '../../src/balancer/pool-picker.ts'
import type { BackendLoad, Picker, PickerBackend } from '../../src/balancer/picker.ts'
import { clientHashes, fleet, seeded } from './helpers.ts'

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with --expose-gc')

const PICKS = 100_000
const hashes = clientHashes(4096).map((h) => h >>> 2)
const set = fleet(100)
set[5].maxconn = 1
set[5].load.active = 1
set.forEach((b, i) => (b.load.latencyEwmaMs = 5 + (i % 7)))
const poolLoad: BackendLoad = { active: 1, latencyEwmaMs: 0 }
const opts = { tableSize: 65537, balanceFactor: 1.25, p2cLatency: true, random: Math.random, poolLoad }
const tried: readonly PickerBackend[] = [set[1], set[2]]

/** A fresh loop per picker (own feedback, monomorphic call site). */
function makeLoop(): (p: Picker<PickerBackend>) => number {
  return new Function(
    'hashes',
    'tried',
    'n',
    `return function loop(p) {
      let sink = 0
      for (let i = 0; i < n; i++) if (p.pick(hashes[i & 4095], tried) !== undefined) sink++
      return sink
    }`,
  )(hashes, tried, PICKS) as (p: Picker<PickerBackend>) => number
}

function bytesPerPick(p: Picker<PickerBackend>): number {
  const loop = makeLoop()
  for (let r = 0; r < 4; r++) loop(p) // warm up: let TurboFan optimise pick and the loop
  gc!()
  const before = process.memoryUsage().heapUsed
  const sink = loop(p)
  const after = process.memoryUsage().heapUsed
  if (sink !== PICKS) throw new Error(`${p.name}: a pick returned undefined`)
  return (after - before) / PICKS
}

const noop: Picker<PickerBackend> = { name: 'noop', pick: () => set[0] }
const allocating: Picker<PickerBackend> = { name: 'control', pick: (h) => ({ ...set[0], id: String(h) }) }
const rep = (p: Picker<PickerBackend>): number => Math.min(bytesPerPick(p), bytesPerPick(p))

const pickers: Picker<PickerBackend>[] = POLICY_NAMES.map((name) => createPicker(name, set, opts))
const pool = createPoolPicker('maglev', set.slice(0, 50), set.slice(50), opts)
pickers.push({ name: 'pool(maglev)', pick: pool.pick })
pickers.push({ name: 'p2c(seeded)', pick: createPicker('p2c', set, { ...opts, random: seeded(1) }).pick })
pickers.push({ name: 'random(seeded)', pick: createPicker('random', set, { ...opts, random: seeded(1) }).pick })
set.forEach((b, i) => (b.load.successRate = 1 / (1 + (i % 4))))
pickers.push({ name: 'p2c(weigh-by)', pick: createPicker('p2c', set, { ...opts, weighBy: 'success-latency' }).pick })
pickers.push({ name: 'random(weigh-by)', pick: createPicker('random', set, { ...opts, weighBy: 'success-latency' }).pick })

// two rounds, keep each picker's lower figure: the first round can include
// the optimiser's own (code-space) allocation for functions met for the first time
const result: Record<string, number> = {}
for (let round = 0; round < 2; round++) {
  const baseline = rep(noop)
  result.baseline = baseline
  result.control = rep(allocating) - baseline
  for (const p of pickers) {
    const v = rep(p) - baseline
    result[p.name] = round === 0 ? v : Math.min(result[p.name], v)
  }
}
console.log(JSON.stringify(result))
