// Maglev table size versus disruption and build cost, and the ring build at
// scale (figures for docs/hashing.md, "Table size"). Bounded: four builds and
// two ring builds, no sockets. Run: node bench/scale/table-size.ts
import { buildMaglevTable } from '../../src/balancer/maglev-table.ts'
import { buildRingTable } from '../../src/balancer/ring-table.ts'
const out: string[] = []
for (const [n, m] of [[1000, 1000003], [1000, 100003], [10000, 1000003], [10000, 10000019]] as const) {
  const ids = Array.from({ length: n }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}:3128`)
  const w = ids.map(() => 1)
  const c0 = process.cpuUsage()
  const a = buildMaglevTable(ids, w, m)
  const cpu = process.cpuUsage(c0)
  const gone = n >> 1
  const ids2 = ids.filter((_, i) => i !== gone)
  const b = buildMaglevTable(ids2, w.slice(1), m)
  let moved = 0, coll = 0
  for (let s = 0; s < m; s++) {
    const before = ids[a[s]], after = ids2[b[s]]
    if (before !== after) { moved++; if (a[s] !== gone) coll++ }
  }
  out.push(`maglev N=${n} M=${m} build_cpu_ms=${((cpu.user + cpu.system) / 1000).toFixed(0)} moved=${(100 * moved / m).toFixed(3)}% collateral=${(100 * coll / m).toFixed(3)}% optimum=${(100 / n).toFixed(3)}% MB=${(4 * m / 1048576).toFixed(1)}`)
  console.log(out[out.length - 1])
}
for (const n of [1000, 10000]) {
  const ids = Array.from({ length: n }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}:3128`)
  const c0 = process.cpuUsage()
  const r = buildRingTable(ids, ids.map(() => 1))
  const cpu = process.cpuUsage(c0)
  console.log(`ring N=${n} points=${r.points.length} build_cpu_ms=${((cpu.user + cpu.system) / 1000).toFixed(0)} MB=${(8 * r.points.length / 1048576).toFixed(1)}`)
}
