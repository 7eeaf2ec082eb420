// Drill 19, connect-affinity (issue 14): `hash-key: connect-authority` on the tunnels pool. Tunnels to
// each of the origin's 20 sites (site01..site20, Docker network aliases of the origin, resolved by the
// proxies) from the client's 64 source addresses, through every balancer node: the anycast VIP
// (lb1..3 by ECMP), the VRRP VIP (its holder) and the VRRP backup by its own address. Every node
// hashes the CONNECT target with the same maglev table, so each site must leave through ONE proxy
// (100 %) whichever node and client carried it. The origin's answer names the proxy address it saw
// (the tunnel really reached it through that proxy), and each proxy's own log must list exactly the
// sites the clients saw through it. Reported: the spread of sites and tunnels over the proxies.
import { drill, CONN_TIMEOUT_MS } from './lib/harness.ts'
import { entries, targets, tunnelLoad, received } from './lib/tunnels.ts'
import type { Ev } from './lib/stream.ts'
import { byRole, origin } from '../scripts/lib/data.ts'
import { nodeByBeAddr } from '../scripts/lib/labctl.ts'
import { nowMs } from '../scripts/lib/poll.ts'

const PER_SITE = 40 // tunnels per site and entry point share: 20 sites x 40 = 800 on the anycast VIP

await drill('19-connect-affinity', async (d) => {
  const { sites } = targets(d)
  const proxies = byRole(d.lab, 'backend')
  const addrOf = new Map(proxies.map((b) => [b.name, b.addrs.be]))
  const originName = origin(d.lab).node.name
  const t0 = nowMs()
  const all: Ev[] = []
  for (const e of await entries(d)) {
    // Every site from many clients on every entry: the anycast VIP spreads over three nodes, so it gets more.
    const count = sites.length * (e.nodes.length > 1 ? PER_SITE : PER_SITE / 2)
    const s = tunnelLoad(d, 'burst', e.addr, { count, concurrency: 16, timeout: CONN_TIMEOUT_MS })
    const code = await s.done(120_000)
    if (!s.of('done').length) throw new Error(`tunnel burst via ${e.label} did not finish (exit ${code}): ${s.stderr.slice(-500)}`)
    all.push(...s.of('conn').map((c) => ({ ...c, entry: e.label })))
  }
  d.conns.push(...all)
  const ok = all.filter((c) => c.ok)
  const failed = all.filter((c) => !c.ok)
  d.expect('tunnels answered 200 and reached the origin', `${ok.length}/${all.length}`, 'all', failed.length === 0 && all.length > 0)
  if (failed.length) d.data.failedSample = failed.slice(0, 10)
  // The origin names itself and the address of the proxy that connected to it: the tunnel reached it through X-Backend.
  const wrong = ok.filter((c) => c.origin !== originName || c.originPeer !== addrOf.get(String(c.be))).length
  d.expect(`origin answered as "${originName}", seeing the proxy the client was told (X-Backend)`, `${ok.length - wrong}/${ok.length}`, 'all', wrong === 0)

  const bySite = new Map<string, { proxies: Set<string>; nodes: Set<string>; srcs: Set<string>; n: number }>()
  for (const c of ok) {
    const k = String(c.site)
    const v = bySite.get(k) ?? { proxies: new Set(), nodes: new Set(), srcs: new Set(), n: 0 }
    v.proxies.add(String(c.be)); v.nodes.add(nodeByBeAddr(d.lab, String(c.peer))); v.srcs.add(String(c.src)); v.n++
    bySite.set(k, v)
  }
  const one = [...bySite.values()].filter((v) => v.proxies.size === 1).length
  const split = [...bySite].filter(([, v]) => v.proxies.size !== 1).map(([s, v]) => `${s}: ${[...v.proxies].sort().join('+')}`)
  d.expect('sites leaving through exactly one proxy', `${one}/${sites.length} (${Math.round((100 * one) / sites.length)} %)`, `${sites.length}/${sites.length} (100 %)`,
    one === sites.length && bySite.size === sites.length)
  if (split.length) d.data.split = split
  const nodes = new Set(ok.map((c) => nodeByBeAddr(d.lab, String(c.peer))))
  const balancers = d.lab.nodes.filter((n) => n.role === 'lb' || n.role === 'ka').map((n) => n.name)
  d.expect('balancer nodes that carried tunnels', `${nodes.size}/${balancers.length}`, `${balancers.length}/${balancers.length} (all)`, balancers.every((n) => nodes.has(n)))
  const minNodes = Math.min(...[...bySite.values()].map((v) => v.nodes.size))
  const minSrcs = Math.min(...[...bySite.values()].map((v) => v.srcs.size))
  d.expect('balancer nodes per site (fewest)', minNodes, '>= 3 (the affinity is the nodes agreeing)', minNodes >= 3)
  d.report('client addresses per site (fewest)', minSrcs)

  // Each proxy's own log: the sites it tunnelled for clients (the connect check's target is not a site).
  const logged = new Map<string, Set<string>>()
  for (const p of proxies) logged.set(p.name, new Set((await received(d, p.name, t0)).filter((r) => sites.includes(r.target) && r.status === 200).map((r) => r.target)))
  const disagree = sites.filter((s) => {
    const holders = proxies.filter((p) => logged.get(p.name)?.has(s)).map((p) => p.name)
    return holders.length !== 1 || !bySite.get(s)?.proxies.has(holders[0])
  })
  d.expect("sites in exactly one proxy's own log, the one the clients saw", `${sites.length - disagree.length}/${sites.length}`, 'all', disagree.length === 0)
  if (disagree.length) d.data.disagree = disagree

  // The spread (reported): maglev over 4 proxies with 20 keys is as even as 20 hashes can be.
  const spread: Record<string, { sites: string[]; tunnels: number }> = {}
  for (const p of proxies) spread[p.name] = { sites: [], tunnels: ok.filter((c) => c.be === p.name).length }
  for (const [s, v] of [...bySite].sort()) spread[[...v.proxies][0]]?.sites.push(s)
  for (const [p, v] of Object.entries(spread)) d.report(`${p}: sites / share of tunnels`, `${v.sites.length} / ${Math.round((1000 * v.tunnels) / Math.max(1, ok.length)) / 10} %`)
  d.data.spread = spread
  d.data.perNode = Object.fromEntries([...nodes].map((n) => [n, ok.filter((c) => nodeByBeAddr(d.lab, String(c.peer)) === n).length]))
  d.data.siteProxy = Object.fromEntries([...bySite].sort().map(([s, v]) => [s, [...v.proxies].join('+')]))
})
