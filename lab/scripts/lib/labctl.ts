// Questions asked of the running lab (through docker exec), shared by
// lab:up (readiness), lab:status and the drills. Each returns plain data;
// a node that cannot answer yields an empty or "unreachable" value, not a throw.
import { type Lab, byRole, container, node } from './data.ts'
import { execIn } from './docker.ts'
import { gwsFrom } from '../../tools/routes.ts'

export const BIRD_SOCK = '/run/lab/bird.ctl'
export const NODE_BIN = '/l4lb/node_modules/node/bin/node'

export interface BirdProto { name: string; proto: string; state: string; since: string; info: string }

export async function birdProtocols(lab: Lab, name: string): Promise<BirdProto[]> {
  const r = await execIn(container(lab, name), `birdc -s ${BIRD_SOCK} show protocols`)
  if (r.code !== 0) return []
  return r.stdout.split('\n').slice(2).filter((l) => l.trim()).map((l) => {
    const [pname, proto, , state, ...rest] = l.trim().split(/\s+/)
    const since: string[] = []
    while (rest.length && /^(\d{4}-\d\d-\d\d|\d\d:\d\d[:.\d]*)$/.test(rest[0])) since.push(rest.shift() ?? '')
    return { name: pname, proto, state, since: since.join(' '), info: rest.join(' ') }
  })
}

export interface BfdSession { addr: string; iface: string; state: string; since: string }

export async function bfdSessions(lab: Lab, name: string): Promise<BfdSession[]> {
  const r = await execIn(container(lab, name), `birdc -s ${BIRD_SOCK} show bfd sessions`)
  if (r.code !== 0) return []
  return r.stdout.split('\n').filter((l) => /^\d+\.\d+\.\d+\.\d+\s/.test(l.trim())).map((l) => {
    const [addr, iface, state, since] = l.trim().split(/\s+/)
    return { addr, iface, state, since }
  })
}

/** Nexthop gateways of the route the router's kernel uses for the anycast VIP (sorted). */
export async function vipNexthops(lab: Lab): Promise<{ bird: string[]; active: string[]; kind: string }> {
  const q = await execIn(container(lab, 'router'), `ip -j route show ${lab.vips.anycast}/32; echo; ip -j nexthop show 2>/dev/null || echo '[]'`)
  const [routesJ, nhJ] = q.stdout.split('\n').filter((l) => l.trim())
  try {
    return gwsFrom(JSON.parse(routesJ || '[]'), JSON.parse(nhJ || '[]'))
  } catch {
    return { bird: [], active: [], kind: 'unknown' }
  }
}

/**
 * Buckets per member of the router's resilient nexthop group(s) (`ip -j nexthop bucket show`):
 * balanced when the counts differ by at most one. null when the router has no bucket at all (plain ECMP).
 */
export async function nhgBuckets(lab: Lab): Promise<{ counts: Record<string, number>; balanced: boolean } | null> {
  const q = await execIn(container(lab, 'router'), 'ip -j nexthop bucket show 2>/dev/null || echo "[]"')
  let rows: Array<{ bucket?: { nhid?: number } }>
  try { rows = JSON.parse(q.stdout.trim() || '[]') as typeof rows } catch { return null }
  if (!rows.length) return null
  const counts: Record<string, number> = {}
  for (const r of rows) { const k = String(r.bucket?.nhid); counts[k] = (counts[k] ?? 0) + 1 }
  const v = Object.values(counts)
  return { counts, balanced: Math.max(...v) - Math.min(...v) <= 1 }
}

/** l4lb's GET /healthz inside a node: true for 200 (uses the same script keepalived tracks). */
export async function healthz(lab: Lab, name: string): Promise<boolean> {
  const r = await execIn(container(lab, name), '/l4lb/lab/node/healthz.sh')
  return r.code === 0
}

/** Each etcd member's health as `etcdctl endpoint health` sees it from inside `from` (endpoint -> healthy). */
export async function etcdHealth(lab: Lab, from: string): Promise<Record<string, boolean>> {
  const r = await execIn(container(lab, from), 'ETCDCTL_API=3 etcdctl --dial-timeout=1s --command-timeout=2s --endpoints="$(. /etc/lab/node.env; echo $LAB_ETCD_ENDPOINTS)" endpoint health 2>&1')
  const out: Record<string, boolean> = {}
  for (const line of r.stdout.split('\n')) {
    const m = /^(http:\/\/[0-9.]+:\d+) is (healthy|unhealthy)/.exec(line)
    if (m) out[m[1]] = m[2] === 'healthy'
  }
  return out
}

/** l4lb as the image installs it (deploy/Dockerfile), for CLI calls inside a node. */
export const L4LB_BIN = '/opt/l4lb/node_modules/.bin/l4lb'

/** One node's record in `l4lb fleet status --json` (the fields the lab reads). */
export interface FleetNodeView { name: string; role: string; appliedRevision: number; lag: number; healthAgeMs: number | null; fallbacksTotal: number; fallback: string | null }
/** The fleet as `l4lb fleet status --json` sees it from `from` (default lb1); leader null when none has published. */
export interface FleetView { configRevision: number; leader: string | null; term: number; nodes: FleetNodeView[] }

export async function fleetView(lab: Lab, from = 'lb1'): Promise<FleetView> {
  const r = await execIn(container(lab, from), `${L4LB_BIN} fleet status --json --node-config /etc/lab/l4lb.yaml`)
  if (r.code !== 0) throw new Error(`fleet status on ${from}: exit ${r.code}: ${r.stderr.trim()}`)
  const d = JSON.parse(r.stdout) as { configRevision: number; leader: { node: string; term: number } | null; nodes: (Omit<FleetNodeView, 'name'> & { node: string })[] }
  return {
    configRevision: d.configRevision, leader: d.leader?.node ?? null, term: d.leader?.term ?? 0,
    nodes: d.nodes.map((n) => ({ name: n.node, role: n.role, appliedRevision: n.appliedRevision, lag: n.lag, healthAgeMs: n.healthAgeMs, fallbacksTotal: n.fallbacksTotal, fallback: n.fallback })),
  }
}

/** The ka node whose interface holds the VRRP VIP ("" when none, a comma list when several). */
export async function vrrpHolder(lab: Lab): Promise<string> {
  const holders: string[] = []
  await Promise.all(byRole(lab, 'ka').map(async (k) => {
    const r = await execIn(container(lab, k.name), `ip -o -4 addr show | grep -qw '${lab.vips.vrrp}'`)
    if (r.code === 0) holders.push(k.name)
  }))
  return holders.sort().join(',')
}

/** Which lb/ka node owns an address on the backend network (the "peer" a backend reports). */
export function nodeByBeAddr(lab: Lab, addr: string): string {
  return lab.nodes.find((n) => n.addrs.be === addr && n.role !== 'backend')?.name ?? addr
}
export function nodeByLbAddr(lab: Lab, addr: string): string {
  return lab.nodes.find((n) => n.addrs.lb === addr)?.name ?? addr
}

/** Runs `svc.sh ACTION NAME` in a node; returns the epoch-ms timestamp svc.sh printed for the action. */
export async function svc(lab: Lab, nodeName: string, action: 'start' | 'stop' | 'kill', daemon: string): Promise<number> {
  return (await svcTimes(lab, nodeName, action, daemon)).t
}

/**
 * Like svc(), with both times svc.sh printed: t right before the signal (or the start), gone once
 * the process had exited (stop/kill; equals t when it printed none). Epoch ms.
 */
export async function svcTimes(lab: Lab, nodeName: string, action: 'start' | 'stop' | 'kill', daemon: string): Promise<{ t: number; gone: number }> {
  const r = await execIn(container(lab, nodeName), `/l4lb/lab/node/svc.sh ${action} ${daemon}`, 30_000)
  if (r.code !== 0) throw new Error(`svc.sh ${action} ${daemon} on ${nodeName}: ${r.stderr || r.stdout}`)
  const ts = /^(\d+\.\d+)\s/m.exec(r.stdout)
  const t = ts ? Number(ts[1]) * 1000 : Date.now()
  const g = /^(\d+\.\d+) gone /m.exec(r.stdout)
  return { t, gone: g ? Number(g[1]) * 1000 : t }
}

export function lbNames(lab: Lab): string[] { return byRole(lab, 'lb').map((n) => n.name) }
export function kaNames(lab: Lab): string[] { return byRole(lab, 'ka').map((n) => n.name) }
export function lbAddr(lab: Lab, name: string): string { return node(lab, name).addrs.lb ?? '' }
