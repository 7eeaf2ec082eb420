// What the tunnel drills (18, 19; issue 14) share: CONNECT load through every balancer node to the
// lab's origin (lab/tools/load.ts --sites, the tunnels listener), and the proxies' own record of the
// CONNECTs they received (lab/node/responder.ts --tunnel-log: wall-clock ms, the l4lb node's
// address, the target, the status answered; one kernel clock for every container).
import type { Drill } from './harness.ts'
import type { Stream } from './stream.ts'
import { origin } from '../../scripts/lib/data.ts'
import { NODE_BIN, vrrpHolder, kaNames, nodeByBeAddr } from '../../scripts/lib/labctl.ts'

export const TUNNEL_LOG = '/run/lab/tunnels.jsonl'
export const FAIL_FILE = '/run/lab/connect-503'

/** Where a tunnel load enters: the anycast VIP (lb1..3 by ECMP), the VRRP VIP (its holder), and each other ka node's own address. */
export interface Entry { label: string; addr: string; nodes: string[] }

/** Entries that together reach every balancer node: the VRRP backup serves no VIP, so it gets its own address. */
export async function entries(d: Drill): Promise<Entry[]> {
  const holder = await vrrpHolder(d.lab)
  const out: Entry[] = [
    { label: 'anycast VIP', addr: d.lab.vips.anycast, nodes: d.lab.nodes.filter((n) => n.role === 'lb').map((n) => n.name) },
    { label: `VRRP VIP (${holder})`, addr: d.lab.vips.vrrp, nodes: [holder] },
  ]
  for (const k of kaNames(d.lab).filter((x) => x !== holder)) {
    const n = d.lab.nodes.find((x) => x.name === k)
    if (n?.addrs.ka) out.push({ label: `${k} (VRRP backup, own address)`, addr: n.addrs.ka, nodes: [k] })
  }
  return out
}

/** The origin's site targets (site01:80 ...) and the connect check's target (the origin's address), which is no client's. */
export function targets(d: Drill): { sites: string[]; check: string } {
  const o = origin(d.lab)
  return { sites: o.sites.map((s) => `${s}:${o.node.port}`), check: `${o.node.addrs.be}:${o.node.port}` }
}

/** A load generator making CONNECT tunnels to the origin's sites through `addr`'s tunnels listener. */
export function tunnelLoad(d: Drill, mode: 'burst' | 'steady', addr: string, opts: Record<string, string | number>): Stream {
  const src = d.sources()
  const args = [NODE_BIN, '/l4lb/lab/tools/load.ts', mode, '--vip', addr, '--port', String(d.lab.l4lb.tunnels.port), '--sites', targets(d).sites.join(',')]
  if (src.length) args.push('--src-from', src[0], '--src-count', String(src.length))
  for (const [k, v] of Object.entries(opts)) args.push(`--${k}`, String(v))
  return d.stream('client', args)
}

/** One CONNECT a proxy received: when (ms), from which balancer node, to which target, answered with which status. */
export interface Received { t: number; node: string; target: string; status: number }

/** The CONNECTs proxy `be` logged after `after` (ms), oldest first; its health-check CONNECTs included (filter by target). */
export async function received(d: Drill, be: string, after: number): Promise<Received[]> {
  // awk keeps the transfer small: the log also holds every earlier drill's tunnels and the checks.
  const raw = await d.sh(be, `awk -v a=${Math.floor(after)} 'match($0, /"t":[0-9.]+/) { if (substr($0, RSTART + 4, RLENGTH - 4) + 0 >= a) print }' ${TUNNEL_LOG} 2>/dev/null || true`, 20_000)
  const out: Received[] = []
  for (const line of raw.split('\n')) {
    try {
      const j = JSON.parse(line) as { t: number; peer: string; target: string; status: number }
      if (j.t > after) out.push({ t: j.t, node: nodeByBeAddr(d.lab, j.peer), target: j.target, status: j.status })
    } catch { /* a partial line */ }
  }
  return out.sort((x, y) => x.t - y.t)
}

/** l4lb duration string ("500ms", "2s") in ms. */
export const dur = (s: string): number => (s.endsWith('ms') ? Number(s.slice(0, -2)) : s.endsWith('s') ? Number(s.slice(0, -1)) * 1000 : Number(s))
