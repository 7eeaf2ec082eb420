// Drill 1, ecmp-spread: 1,000 short connections from 64 client addresses and many
// source ports to the anycast VIP. Expect: every connection served; the router's
// ECMP hash (policy 3, fields 0x0037) spreads them over all lb nodes (each >= 20%);
// and every client address reaches ONE backend, whichever lb node took each of its
// connections (maglev on src-ip, same table on every node): stickiness 100%.
import { drill, backendsBySource, viaNode, tally } from './lib/harness.ts'
import { lbNames } from '../scripts/lib/labctl.ts'

await drill('01-ecmp-spread', async (d) => {
  const N = 1000
  const conns = await d.burst(d.lab.vips.anycast, N, 20)
  d.conns.push(...conns)
  const { ok, failed } = tally(conns)
  d.expect('connections served', ok, `${N}`, ok === N && failed === 0)
  const perNode = new Map<string, number>()
  for (const c of conns) if (c.ok) perNode.set(viaNode(d.lab, c.peer), (perNode.get(viaNode(d.lab, c.peer)) ?? 0) + 1)
  for (const n of lbNames(d.lab)) {
    const share = (perNode.get(n) ?? 0) / Math.max(1, ok)
    d.expect(`share via ${n}`, (share * 100).toFixed(1), '>= 20 %', share >= 0.2, '%')
  }
  const perBe = new Map<string, number>()
  for (const c of conns) if (c.ok) perBe.set(String(c.be), (perBe.get(String(c.be)) ?? 0) + 1)
  for (const [be, n] of [...perBe].sort()) d.report(`connections to ${be}`, n)
  const bySrc = backendsBySource(conns)
  const sticky = [...bySrc.values()].filter((s) => s.size === 1).length
  d.expect('client addresses with one backend', `${sticky}/${bySrc.size}`, '100 %', sticky === bySrc.size && bySrc.size === d.sources().length)
  // The point of stickiness across nodes: most addresses were split over several lb nodes.
  const nodesBySrc = new Map<string, Set<string>>()
  for (const c of conns) if (c.ok) { const s = String(c.src); if (!nodesBySrc.has(s)) nodesBySrc.set(s, new Set()); nodesBySrc.get(s)?.add(viaNode(d.lab, c.peer)) }
  const multi = [...nodesBySrc.values()].filter((s) => s.size >= 2).length
  d.expect('client addresses served via >= 2 lb nodes', `${multi}/${nodesBySrc.size}`, '>= 90 %', multi >= 0.9 * nodesBySrc.size)
  d.data.perNode = Object.fromEntries(perNode)
  d.data.perBackend = Object.fromEntries(perBe)
  d.data.durationMs = Math.round(Math.max(...conns.map((c) => Number(c.t1))) - Math.min(...conns.map((c) => Number(c.t0))))
})
