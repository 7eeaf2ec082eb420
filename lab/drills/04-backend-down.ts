// Drill 4, backend-down: SIGKILL the responder on be2 under 200 new connections/s.
// Measures, on every balancer node (lb1..3, ka1..2, from the health agents' record
// of GET /status), the time until be2 leaves the ready state in EVERY worker of the
// node (the agent's "backend-applied" event: the node's workers all hold the snapshot
// that says so; only then does the node send it no new flows). Target: the health
// check's fall time, fall x interval x (1 + jitter) + timeout, plus the agent's poll
// interval and SLACK_MS. Also: failed client connections (l4lb retries elsewhere, so
// expect none), the share of client addresses that moved (optimal: the share be2 had,
// about 1/N) and that every other client kept its backend. Then restarts be2 and
// checks the mapping returns.
// Stickiness is sampled in three phases (before, be2 down, be2 back), each only once the
// phase is settled: every worker of every node holds the same backend states (the
// agents' status files: converged, identical states). A client that reached two
// backends is recorded with the nodes it came through, and so is any node whose
// snapshot changed while the phase was being sampled.
import { drill, tally, unexplained, ms, bound, CONN_TIMEOUT_MS, type Drill } from './lib/harness.ts'
import { moreConns, connsAfter, agentEvents, mapping, sameMap, type Split } from './lib/scenario.ts'
import { svc, svcTimes, lbNames, kaNames } from '../scripts/lib/labctl.ts'
import { until } from '../scripts/lib/poll.ts'
import { byRole } from '../scripts/lib/data.ts'

const VICTIM = process.env.LAB_VICTIM ?? 'be2'
const dur = (s: string) => (s.endsWith('ms') ? Number(s.slice(0, -2)) : s.endsWith('s') ? Number(s.slice(0, -1)) * 1000 : Number(s))
const JITTER = 0.1 // l4lb's default pools[].health.jitter (the lab does not set it)

/** Per node: time of the first agent event `ev` after t showing VICTIM in a state matching re. */
async function stateTimes(d: Drill, nodes: string[], after: number, ev: string, re: RegExp): Promise<Map<string, number>> {
  const m = new Map<string, number>()
  await Promise.all(nodes.map(async (n) => {
    const e = (await agentEvents(d, n, after)).find((x) => x.ev === ev && x.id === VICTIM && re.test(String(x.state)))
    if (e) m.set(n, Number(e.t))
  }))
  return m
}

interface NodeStatus { t: number; healthVersion: number; appliedVersion: number; converged: boolean; states: Record<string, string> }

async function statuses(d: Drill, nodes: string[]): Promise<Map<string, NodeStatus>> {
  const m = new Map<string, NodeStatus>()
  await Promise.all(nodes.map(async (n) => {
    const raw = await d.sh(n, 'cat /run/lab/status.json 2>/dev/null || true')
    try { m.set(n, JSON.parse(raw) as NodeStatus) } catch { /* not written yet */ }
  }))
  return m
}

/**
 * Waits until the phase is settled: every node's agent wrote its status after `after`, every
 * worker of every node holds the primary's snapshot (converged), all nodes report the same
 * state for every backend, and VICTIM's state matches `want`. Returns the statuses.
 */
async function settled(d: Drill, nodes: string[], after: number, want: RegExp, what: string): Promise<Map<string, NodeStatus>> {
  return (await until(`every worker of every node to hold the same states (${what})`, async () => {
    const m = await statuses(d, nodes)
    if (m.size !== nodes.length) return false
    const states = [...m.values()].map((s) => JSON.stringify(s.states))
    const ok = [...m.values()].every((s) => s.t > after && s.converged && want.test(s.states[VICTIM] ?? ''))
    return ok && states.every((x) => x === states[0]) ? m : false
  }, { deadlineMs: 20_000, intervalMs: 200 })).value
}

/** One stickiness sample of a settled phase; records splits and nodes whose snapshot moved meanwhile. */
async function phase(d: Drill, nodes: string[], name: string, after: number, want: RegExp) {
  const pre = await settled(d, nodes, after, want, name)
  const m = await mapping(d, d.lab.vips.anycast)
  const post = await statuses(d, nodes)
  const moved = nodes.filter((n) => post.get(n)?.healthVersion !== pre.get(n)?.healthVersion || !post.get(n)?.converged)
  d.data[`phase-${name}`] = { split: m.split, failed: m.failed, snapshotMovedOn: moved, versions: Object.fromEntries([...pre].map(([n, s]) => [n, s.healthVersion])) }
  return { ...m, moved }
}

const splitText = (s: Split[]): string => s.length === 0 ? '0' : `${s.length}: ` + s.slice(0, 4).map((x) => `${x.src} (${x.seen.join(', ')})`).join('; ') + (s.length > 4 ? ' ...' : '')

await drill('04-backend-down', async (d) => {
  const h = d.lab.l4lb.health
  // The health check's own bound (docs/backend-states.md) + the agent's poll of /status.
  const fallMs = Math.round(h.fall * dur(h.interval) * (1 + JITTER) + dur(h.timeout) + d.lab.timers.agent.intervalMs)
  const budget = bound(fallMs, 'fall x interval x (1 + jitter) + timeout + agent poll')
  const nodes = [...lbNames(d.lab), ...kaNames(d.lab)]
  const vip = d.lab.vips.anycast
  const before = await phase(d, nodes, 'before', 0, /^ready/)
  const onVictim = [...before.map.values()].filter((b) => b === VICTIM).length
  const steady = d.load('steady', vip, { rate: 200, timeout: CONN_TIMEOUT_MS, duration: 60_000 })
  await steady.waitFor('steady load', (e) => e.ev === 'ready', 10_000)
  await moreConns(steady, 200)

  let restarted = false
  d.cleanup(`restart responder on ${VICTIM}`, async () => { if (!restarted) await svc(d.lab, VICTIM, 'start', 'responder') })
  const { t: tKill, gone: tGone } = await svcTimes(d.lab, VICTIM, 'kill', 'responder')
  d.mark(`kill ${VICTIM}`, tKill)
  const down = (await until(`every balancer node's workers to hold ${VICTIM} down`, async () => {
    const m = await stateTimes(d, nodes, tKill, 'backend-applied', /^(?!ready)/)
    return m.size === nodes.length ? m : false
  }, { deadlineMs: 15_000, intervalMs: 200 })).value
  const decided = await stateTimes(d, nodes, tKill, 'backend', /^(?!ready)/)
  const tAll = Math.max(...down.values())
  d.mark(`${VICTIM} down everywhere`, tAll)
  await connsAfter(steady, tAll + 500, 50)
  const after = await phase(d, nodes, 'down', tAll, /^(?!ready)/)

  const tStart = await svc(d.lab, VICTIM, 'start', 'responder')
  restarted = true
  d.mark(`restart ${VICTIM}`, tStart)
  const up = (await until(`every balancer node's workers to hold ${VICTIM} ready`, async () => {
    const m = await stateTimes(d, nodes, tStart, 'backend-applied', /^ready/)
    return m.size === nodes.length ? m : false
  }, { deadlineMs: 15_000, intervalMs: 200 })).value
  const tUp = Math.max(...up.values())
  d.mark(`${VICTIM} ready everywhere`, tUp)
  await connsAfter(steady, tUp + 200, 50)
  await steady.stop()
  const conns = steady.of('conn')
  d.conns.push(...conns)
  const restored = await phase(d, nodes, 'back', tUp, /^ready/)

  for (const n of nodes) d.report(`${n}: ${VICTIM} down in every worker after (decided after)`, `${ms((down.get(n) ?? NaN) - tKill)} (${ms((decided.get(n) ?? NaN) - tKill)})`, 'ms')
  d.expect(`no new flows to ${VICTIM} (all nodes, all workers) after`, ms(tAll - tKill), budget.target, budget.ok(tAll - tKill), 'ms')
  // Only a connection already talking to be2 when it died may fail; a new one is retried elsewhere.
  const t = tally(conns)
  // In flight: lifetime overlaps [signal, process seen gone] (svc.sh polls every 20 ms), not one instant.
  const inflight = tally(conns, tKill, tGone + 1)
  const other = unexplained(conns, [[tKill, tGone + 1]])
  d.report(`${VICTIM}: SIGKILL -> process gone`, ms(tGone - tKill), 'ms')
  d.report(`failed connections in flight on ${VICTIM} at the kill`, `${inflight.failed}/${inflight.ok + inflight.failed}`)
  d.expect('other failed client connections (l4lb retries elsewhere)', `${other}/${t.ok + t.failed}`, '0', other === 0)
  const moved = [...before.map].filter(([s, b]) => after.map.get(s) !== b)
  const movedOthers = moved.filter(([, b]) => b !== VICTIM).length
  d.report('client addresses that moved', `${moved.length}/${before.map.size} (${(100 * moved.length / before.map.size).toFixed(1)} %)`)
  d.report(`optimal: the share on ${VICTIM} (1/N = ${(100 / byRole(d.lab, 'backend').length).toFixed(0)} % on average)`, `${onVictim}/${before.map.size}`)
  d.expect(`clients of ${VICTIM} that moved`, `${moved.length - movedOthers}/${onVictim}`, 'all', moved.length - movedOthers === onVictim)
  d.expect('other clients that kept their backend', `${before.map.size - onVictim - movedOthers}/${before.map.size - onVictim}`, 'all', movedOthers === 0)
  for (const [name, p] of [['before', before], [`${VICTIM} down`, after], [`${VICTIM} back`, restored]] as const) {
    d.expect(`${name}: clients that reached two backends (via)`, splitText(p.split), '0', p.split.length === 0)
    d.expect(`${name}: failed sampling connections`, p.failed, '0', p.failed === 0)
    if (p.moved.length) d.report(`${name}: snapshot changed during sampling on`, p.moved.join(', '))
  }
  d.expect(`mapping restored once ${VICTIM} is back`, `${sameMap(before.map, restored.map)}/${before.map.size}`, 'all', sameMap(before.map, restored.map) === before.map.size)
  d.report(`${VICTIM} ready again in every worker everywhere after restart`, ms(tUp - tStart), 'ms')
  d.data.down = Object.fromEntries([...down].map(([n, t]) => [n, ms(t - tKill)]))
  d.data.decided = Object.fromEntries([...decided].map(([n, t]) => [n, ms(t - tKill)]))
})
