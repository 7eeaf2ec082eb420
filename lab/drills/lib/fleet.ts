// What the fleet drills (12-16, issue 13) ask of the running lab: each node's
// fleet state from its own /status (`l4lb status --json` inside the node), the
// primary's "backend health changed" log lines (pino times, ms, one kernel clock
// for every container), the backends' record of the probes they received
// (lab/node/responder.ts PROBES), and pushing or writing the store's value.
import type { Drill } from './harness.ts'
import { L4LB_BIN, NODE_BIN, lbNames, kaNames } from '../../scripts/lib/labctl.ts'
import { byRole, type Lab } from '../../scripts/lib/data.ts'

/** Every node that runs l4lb (and joins the fleet). */
export function fleetNodes(lab: Lab): string[] {
  return [...lbNames(lab), ...kaNames(lab)]
}

/** The part of a node's /status the drills read (src/admin/model.ts FleetStatus). */
export interface NodeFleet {
  role: 'leader' | 'follower' | 'standalone'
  fallback: string | null
  leader: { node: string; term: number } | null
  fallbacksTotal: number
  fencedTotal: number
  config: { appliedRevision: number; storeRevision: number; lastRejected: { revision: number; errors: string[] } | null; rejectionsTotal: number }
  store: { reachable: boolean }
}
export interface NodeStatus { fleet: NodeFleet; backends: string[]; states: Record<string, string> }

/**
 * One node's /status, reduced: its fleet part, the backend ids it serves in pool `pool` (default the
 * first, "proxies", the pool drills 1-17 measure; not the tunnels pool) and their states.
 */
export async function nodeStatus(d: Drill, node: string, pool = 'proxies'): Promise<NodeStatus> {
  const raw = await d.sh(node, `${L4LB_BIN} status --json`, 10_000)
  const doc = JSON.parse(raw) as { fleet: NodeFleet; pools: { name: string; backends: { id: string; state: string }[] }[] }
  const backends = doc.pools.filter((p) => p.name === pool).flatMap((p) => p.backends)
  return { fleet: doc.fleet, backends: backends.map((b) => b.id), states: Object.fromEntries(backends.map((b) => [b.id, b.state])) }
}

export async function allStatus(d: Drill): Promise<Map<string, NodeStatus>> {
  const nodes = fleetNodes(d.lab)
  const all = await Promise.all(nodes.map((n) => nodeStatus(d, n)))
  return new Map(nodes.map((n, i) => [n, all[i]]))
}

/** A "backend health changed" line of a node's primary. */
export interface HealthLine { t: number; backend: string; from: string; to: string; change: string; detail: string }

/**
 * The node's health-change lines logged after `after` (wall-clock ms), of pool `pool` (default the
 * first pool, "proxies", the one drills 1-17 measure; the tunnels pool's own checks are not theirs).
 */
export async function healthLines(d: Drill, node: string, after: number, pool = 'proxies'): Promise<HealthLine[]> {
  const raw = await d.sh(node, 'grep -h "backend health changed" /run/lab/l4lb.log 2>/dev/null || true')
  const out: HealthLine[] = []
  for (const line of raw.split('\n')) {
    try {
      const j = JSON.parse(line) as { time: string; pool: string; backend: string; from: string; to: string; change: string; detail: string }
      const t = Date.parse(j.time)
      if (t > after && j.pool === pool) out.push({ t, backend: j.backend, from: j.from, to: j.to, change: j.change, detail: j.detail })
    } catch { /* not a JSON line */ }
  }
  return out
}

/** Probe arrival times (wall-clock ms) per prober address, as backend `be` recorded them. */
export async function probesAt(d: Drill, be: string): Promise<Record<string, number[]>> {
  const port = byRole(d.lab, 'backend').find((b) => b.name === be)?.port ?? 3128
  const js = `const s=require('net').connect(${port},'127.0.0.1',()=>s.write('PROBES\\n'));let b='';s.on('data',(x)=>b+=x);s.on('end',()=>process.stdout.write(b))`
  return JSON.parse(await d.sh(be, `${NODE_BIN} -e "${js}"`, 10_000)) as Record<string, number[]>
}

/** `l4lb fleet push` of a file inside lb1 (validated, compare-and-swap); the command's output. */
export async function fleetPush(d: Drill, file: string): Promise<string> {
  return d.sh('lb1', `${L4LB_BIN} fleet push -c ${file} --node-config /etc/lab/l4lb.yaml`)
}

/** Writes `text` at the fleet's config key with etcdctl, bypassing l4lb's validation (a bad writer). */
export async function storePutRaw(d: Drill, text: string): Promise<void> {
  const key = `${d.lab.l4lb.fleet.prefix}/config`
  const b64 = Buffer.from(text).toString('base64')
  await d.sh('etcd1', `echo ${b64} | base64 -d | ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 put ${key} >/dev/null`)
}

/** The config key's current mod revision (0 when absent). */
export async function storeRevision(d: Drill): Promise<number> {
  const key = `${d.lab.l4lb.fleet.prefix}/config`
  const raw = await d.sh('etcd1', `ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 get ${key} -w json`)
  const kv = (JSON.parse(raw) as { kvs?: { mod_revision: number }[] }).kvs?.[0]
  return kv?.mod_revision ?? 0
}

/** A node's health agent's latest view of its /status (lab/node/agent.ts, every 100 ms): its time and backend states. */
export interface AgentStatus { t: number; states: Record<string, string> }

/** Every node's agent status (cheap: a cat per node, no Node start), keyed by node. */
export async function agentStatuses(d: Drill, nodes: string[]): Promise<Map<string, AgentStatus>> {
  const m = new Map<string, AgentStatus>()
  await Promise.all(nodes.map(async (n) => {
    try { m.set(n, JSON.parse(await d.sh(n, 'cat /run/lab/status.json')) as AgentStatus) } catch { /* not written yet */ }
  }))
  return m
}

/**
 * Per node, the agent's sample time of the first status (after `after`) satisfying `ok`;
 * polls every node's status file until all have one (resolution: the agent's 100 ms poll).
 */
export async function firstSeen(d: Drill, nodes: string[], after: number, what: string, ok: (s: AgentStatus) => boolean, deadlineMs = 10_000): Promise<Map<string, number>> {
  const seen = new Map<string, number>()
  const { until } = await import('../../scripts/lib/poll.ts')
  await until(what, async () => {
    for (const [n, s] of await agentStatuses(d, nodes.filter((x) => !seen.has(x)))) if (s.t > after && ok(s)) seen.set(n, s.t)
    return seen.size === nodes.length
  }, { deadlineMs, intervalMs: 20 })
  return seen
}

/** When node `node` last logged falling back to its own probes after `after` (ms), or null. */
export async function fallbackAt(d: Drill, node: string, after: number): Promise<number | null> {
  const raw = await d.sh(node, 'grep -h "probing locally" /run/lab/l4lb.log 2>/dev/null || true')
  for (const line of raw.split('\n')) {
    try {
      const t = Date.parse((JSON.parse(line) as { time: string }).time)
      if (t > after) return t
    } catch { /* not a JSON line */ }
  }
  return null
}

/**
 * Per node, when its health agent first saw backend `id` in `state` after `after` (its
 * {ev:"backend"} event, recorded at the 100 ms tick that saw the change: unlike a status
 * file read later, this is not delayed by how long the drill takes to read it).
 */
export async function stateSeen(d: Drill, nodes: string[], after: number, id: string, state: string, deadlineMs = 10_000): Promise<Map<string, number>> {
  const { until } = await import('../../scripts/lib/poll.ts')
  const { agentEvents } = await import('./scenario.ts')
  return (await until(`every node's agent seeing ${id} ${state}`, async () => {
    const m = new Map<string, number>()
    await Promise.all(nodes.map(async (n) => {
      const e = (await agentEvents(d, n, after)).find((x) => x.ev === 'backend' && x.id === id && x.state === state)
      if (e) m.set(n, Number(e.t))
    }))
    return m.size === nodes.length && m
  }, { deadlineMs, intervalMs: 200 })).value
}
