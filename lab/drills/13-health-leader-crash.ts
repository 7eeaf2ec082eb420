// Drill 13, health-leader-crash (issue 13): SIGKILL l4lb on the fleet's health leader.
// Its etcd lease expires (lease-ttl) and another node is elected; meanwhile the followers'
// results go stale (stale-after) and they probe for themselves, so detection never stops.
// Measures: the new leader's first probe after the kill (counted at the backends; bound
// lease-ttl + one health interval + slack), when the store names the new leader, how many
// nodes fell back meanwhile, that NO backend changed state on any node because of the
// takeover, and that clients of the other VIP (not served by the dead node) lost nothing.
// Then restarts the old leader's l4lb, which joins as a follower.
import { drill, tally, ms, bound, CONN_TIMEOUT_MS } from './lib/harness.ts'
import { moreConns, connsAfter } from './lib/scenario.ts'
import { healthLines, fleetNodes, probesAt } from './lib/fleet.ts'
import { svc, fleetView, nodeByBeAddr } from '../scripts/lib/labctl.ts'
import { until, nowMs } from '../scripts/lib/poll.ts'
import { byRole, node } from '../scripts/lib/data.ts'

const dur = (s: string) => (s.endsWith('ms') ? Number(s.slice(0, -2)) : s.endsWith('s') ? Number(s.slice(0, -1)) * 1000 : Number(s))

await drill('13-health-leader-crash', async (d) => {
  const f = d.lab.l4lb.fleet
  const before = await fleetView(d.lab)
  const old = before.leader
  if (old === null) throw new Error('no fleet health leader (is l4lb.fleet.enabled on in lab.yaml?)')
  // Load on the VIP the leader does not serve, so what clients see is the takeover alone.
  const vip = node(d.lab, old).role === 'lb' ? d.lab.vips.vrrp : d.lab.vips.anycast
  d.data.leader = old
  d.data.vip = vip
  const steady = d.load('steady', vip, { rate: 200, timeout: CONN_TIMEOUT_MS, duration: 40_000 })
  await steady.waitFor('steady load', (e) => e.ev === 'ready', 10_000)
  await moreConns(steady, 200)

  let restarted = false
  d.cleanup(`restart l4lb on ${old}`, async () => { if (!restarted) await svc(d.lab, old, 'start', 'l4lb') })
  const tKill = await svc(d.lab, old, 'kill', 'l4lb')
  d.mark(`kill l4lb on leader ${old}`, tKill)
  const elected = await until('another node elected health leader', async () => {
    const v = await fleetView(d.lab, old === 'lb1' ? 'lb2' : 'lb1')
    return v.leader !== null && v.leader !== old && v
  }, { deadlineMs: 15_000, intervalMs: 100 })
  const tSeen = nowMs()
  const next = elected.value.leader!
  d.mark(`${next} seen as leader (term ${elected.value.term})`, tSeen)
  d.expect('new leader has a newer term', `${before.term} -> ${elected.value.term}`, 'greater', elected.value.term > before.term)
  d.report('kill -> new leader seen in the store (polled every 100 ms)', ms(tSeen - tKill), 'ms')

  // The new leader's first probe, and who probed meanwhile, at the backends.
  const interval = dur(d.lab.l4lb.health.interval)
  await until('probes after the takeover recorded', async () => nowMs() > tSeen + 2 * interval, { deadlineMs: 5_000, intervalMs: 100 })
  let first = Infinity
  const probers = new Set<string>()
  for (const be of byRole(d.lab, 'backend').map((b) => b.name)) {
    for (const [peer, ts] of Object.entries(await probesAt(d, be))) {
      const who = nodeByBeAddr(d.lab, peer) || peer
      const after = ts.filter((t) => t > tKill)
      if (after.length && who !== old) probers.add(who)
      if (who === next && after.length) first = Math.min(first, after[0])
    }
  }
  d.mark(`${next}'s first probe`, first)
  const b = bound(dur(f.leaseTtl) + interval, 'lease-ttl + one health interval')
  d.expect(`kill -> new leader ${next}'s first probe`, ms(first - tKill), b.target, b.ok(first - tKill), 'ms')
  d.report('nodes that probed between the kill and now (fallback while stale, then the leader)', [...probers].sort().join(', '))

  await connsAfter(steady, tSeen + 2000, 100)
  await steady.stop()
  const t = tally(steady.of('conn'), tKill, nowMs())
  d.expect(`failed client connections on ${vip} (not served by ${old})`, `${t.failed}/${t.ok + t.failed}`, '0', t.failed === 0)

  // No backend changed state on any surviving node because of the takeover.
  const flips: string[] = []
  for (const n of fleetNodes(d.lab).filter((x) => x !== old)) {
    for (const l of await healthLines(d, n, tKill)) if (l.from !== l.to) flips.push(`${n}: ${l.backend} ${l.from}->${l.to}`)
  }
  d.expect('backend state changes on the other nodes during the takeover', flips.length === 0 ? 0 : flips.join('; '), '0', flips.length === 0)

  const tStart = await svc(d.lab, old, 'start', 'l4lb')
  restarted = true
  d.mark(`restart l4lb on ${old}`, tStart)
  const back = await until(`${old} back as a follower`, async () => {
    const v = await fleetView(d.lab)
    return v.nodes.some((x) => x.name === old && x.role === 'follower') && v.leader === next && v
  }, { deadlineMs: 30_000, intervalMs: 250 })
  d.report(`restart -> ${old} follows ${next}`, ms(back.elapsedMs), 'ms')
})
