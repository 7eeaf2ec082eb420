// Drill 16, fleet-backend-down (issue 13): SIGKILL the responder on be2 while the fleet follows
// one health leader. Every node's primary logs when it takes be2 out ("backend health changed",
// from the leader's result it adopts; the leader from its own probes). Measures the spread
// between the first and the last node (target <= 50 ms: they act on one decision, where nodes
// probing alone were 322 ms apart), the leader's detection time against the check's fall bound,
// and stickiness across nodes before and after (every client address reaches one backend
// through whichever node). Then restarts be2 and checks that every node takes it back.
import { drill, ms, bound } from './lib/harness.ts'
import { mapping, sameMap } from './lib/scenario.ts'
import { healthLines, fleetNodes } from './lib/fleet.ts'
import { svc, fleetView } from '../scripts/lib/labctl.ts'
import { until, nowMs } from '../scripts/lib/poll.ts'

const VICTIM = process.env.LAB_VICTIM ?? 'be2'
const SPREAD_MS = 50
const JITTER = 0.1
const dur = (s: string) => (s.endsWith('ms') ? Number(s.slice(0, -2)) : s.endsWith('s') ? Number(s.slice(0, -1)) * 1000 : Number(s))

/** Per node, the first time after `after` its primary logged VICTIM going `to`. */
async function times(d: Parameters<Parameters<typeof drill>[1]>[0], after: number, to: string): Promise<Map<string, number>> {
  const nodes = fleetNodes(d.lab)
  return (await until(`every node to log ${VICTIM} -> ${to}`, async () => {
    const m = new Map<string, number>()
    await Promise.all(nodes.map(async (n) => {
      const l = (await healthLines(d, n, after)).find((x) => x.backend === VICTIM && x.to === to)
      if (l) m.set(n, l.t)
    }))
    return m.size === nodes.length && m
  }, { deadlineMs: 20_000, intervalMs: 250 })).value
}

await drill('16-fleet-backend-down', async (d) => {
  const h = d.lab.l4lb.health
  const vip = d.lab.vips.anycast
  const view = await fleetView(d.lab)
  if (view.leader === null) throw new Error('no fleet health leader (is l4lb.fleet.enabled on in lab.yaml?)')
  const before = await mapping(d, vip)
  d.expect('stickiness before (every client address on one backend)', before.split.length, '0 split', before.sticky)

  let restarted = false
  d.cleanup(`restart responder on ${VICTIM}`, async () => { if (!restarted) await svc(d.lab, VICTIM, 'start', 'responder') })
  const tKill = await svc(d.lab, VICTIM, 'kill', 'responder')
  d.mark(`kill responder ${VICTIM}`, tKill)
  const down = await times(d, tKill, 'down')
  const sorted = [...down.entries()].sort((a, b) => a[1] - b[1])
  for (const [n, t] of sorted) d.mark(`${n} takes ${VICTIM} out`, t)
  const spread = sorted[sorted.length - 1][1] - sorted[0][1]
  d.data.down = Object.fromEntries(sorted.map(([n, t]) => [n, ms(t - tKill)]))
  d.expect(`spread between the first and the last node (${sorted[0][0]} .. ${sorted[sorted.length - 1][0]})`, ms(spread), `<= ${SPREAD_MS} ms (nodes alone: 322 ms)`, spread <= SPREAD_MS, 'ms')
  const fallMs = Math.round(h.fall * dur(h.interval) * (1 + JITTER) + dur(h.timeout))
  const b = bound(fallMs, 'fall x interval x (1 + jitter) + timeout')
  const detect = (down.get(view.leader) ?? NaN) - tKill
  d.expect(`leader ${view.leader}: kill -> ${VICTIM} down`, ms(detect), b.target, b.ok(detect), 'ms')
  const during = await mapping(d, vip)
  d.expect(`stickiness with ${VICTIM} down`, during.split.length, '0 split', during.sticky)
  d.report(`connections failed while sampling with ${VICTIM} down`, during.failed)

  const tStart = await svc(d.lab, VICTIM, 'start', 'responder')
  restarted = true
  d.mark(`start responder ${VICTIM}`, tStart)
  const up = await times(d, tStart, 'up')
  const ups = [...up.values()]
  d.report(`spread of ${VICTIM} coming back (first .. last node)`, ms(Math.max(...ups) - Math.min(...ups)), 'ms')
  const t = nowMs()
  await until('every node serving with be2 again', async () => (await mapping(d, vip)).sticky, { deadlineMs: 10_000, intervalMs: 500 })
  const after = await mapping(d, vip)
  d.expect('stickiness after (same backend per client as before)', `${sameMap(before.map, after.map)}/${before.map.size}`, 'all', after.sticky && sameMap(before.map, after.map) === before.map.size)
  d.mark('mapping sampled', t)
})
