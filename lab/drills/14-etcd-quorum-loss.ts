// Drill 14, etcd-quorum-loss (issue 13): stop two of the three etcd members (SIGTERM), so the
// store has no quorum: no write, no lease renewal, no election. Under steady load on both VIPs:
//  - every node keeps serving with its config (0 failed connections throughout);
//  - every follower falls back to probing for itself within the stale bound (its log line;
//    the old leader never stopped probing), counted from the moment the second member had
//    exited (quorum lost; a member stopping with SIGTERM may commit for a while, e.g. while it
//    hands its raft leadership over): bound stale-after + its check period (an eighth of it)
//    + one read period (a third of it: a follower whose watch was on a stopped member gets the
//    last results by its next read) + slack; then every node's /status says standalone (or leader);
//  - a backend killed during the outage (be2) is taken out by every node's own probes within
//    the check's fall bound; it is restarted and taken back;
//  - quorum back (the two members started again): one leader, every other node following it,
//    and no backend changes state on any node after quorum is back (no flap).
import { drill, tally, unexplained, ms, bound, CONN_TIMEOUT_MS } from './lib/harness.ts'
import { moreConns, connsAfter } from './lib/scenario.ts'
import { allStatus, healthLines, fleetNodes, fallbackAt, type HealthLine } from './lib/fleet.ts'
import { svc, svcTimes, fleetView, etcdHealth } from '../scripts/lib/labctl.ts'
import { until, nowMs } from '../scripts/lib/poll.ts'

const STOPPED = ['etcd2', 'etcd3']
const BACKEND = process.env.LAB_VICTIM ?? 'be2'
const JITTER = 0.1
const dur = (s: string) => (s.endsWith('ms') ? Number(s.slice(0, -2)) : s.endsWith('s') ? Number(s.slice(0, -1)) * 1000 : Number(s))

await drill('14-etcd-quorum-loss', async (d) => {
  const nodes = fleetNodes(d.lab)
  const h = d.lab.l4lb.health
  const stale = dur(d.lab.l4lb.fleet.staleAfter)
  const loads = [d.lab.vips.anycast, d.lab.vips.vrrp].map((vip) => d.load('steady', vip, { rate: 100, timeout: CONN_TIMEOUT_MS, duration: 90_000 }))
  for (const s of loads) await s.waitFor('steady load', (e) => e.ev === 'ready', 10_000)
  for (const s of loads) await moreConns(s, 100)
  const t0 = nowMs()
  const leaderBefore = (await fleetView(d.lab)).leader

  let healed = false
  let beBack = false
  d.cleanup('etcd members and the backend back', async () => {
    if (!healed) for (const m of STOPPED) await svc(d.lab, m, 'start', 'etcd')
    if (!beBack) await svc(d.lab, BACKEND, 'start', 'responder')
  })
  let tCut = 0
  for (const m of STOPPED) {
    const st = await svcTimes(d.lab, m, 'stop', 'etcd')
    d.mark(`stop ${m}`, st.t)
    tCut = st.gone
  }
  d.mark(`${STOPPED.join(' + ')} gone (quorum lost)`, tCut)
  d.data.lastMemberStopMs = ms(tCut - (d.marks.at(-2)?.t ?? tCut))

  // Every node probing for itself: each follower logs the moment it falls back (pino time);
  // the leader never stopped probing.
  const followers = nodes.filter((n) => n !== leaderBefore)
  const fb = bound(Math.round(stale + stale / 8 + stale / 3), 'stale-after + its check period (stale-after / 8) + its read period (stale-after / 3)')
  const fellBack = (await until('every follower probing for itself', async () => {
    const m = new Map<string, number>()
    await Promise.all(followers.map(async (n) => {
      const t = await fallbackAt(d, n, tCut)
      if (t !== null) m.set(n, t)
    }))
    return m.size === followers.length && m
  }, { deadlineMs: 15_000, intervalMs: 200 })).value
  for (const [n, t] of fellBack) d.mark(`${n} probes alone`, t)
  const lastFallback = Math.max(...fellBack.values()) - tCut
  d.data.fallback = Object.fromEntries([...fellBack].map(([n, t]) => [n, ms(t - tCut)]))
  d.expect(`quorum lost -> every follower probing for itself (slowest; leader ${leaderBefore} never stopped)`, ms(lastFallback), fb.target, fb.ok(lastFallback), 'ms')
  const roles = await allStatus(d)
  d.data.roles = Object.fromEntries([...roles].map(([n, s]) => [n, `${s.fleet.role}${s.fleet.fallback ? ` (${s.fleet.fallback})` : ''}`]))
  const probing = [...roles.values()].every((x) => x.fleet.role === 'standalone' || x.fleet.role === 'leader')
  d.expect('every node probing (role standalone, or leader still)', probing ? 'yes' : JSON.stringify(d.data.roles), 'yes', probing)

  // A backend dies during the outage.
  const tKill = await svc(d.lab, BACKEND, 'kill', 'responder')
  d.mark(`kill ${BACKEND}`, tKill)
  const down = (await until(`every node taking ${BACKEND} out by itself`, async () => {
    const m = new Map<string, number>()
    await Promise.all(nodes.map(async (n) => {
      const l = (await healthLines(d, n, tKill)).find((x) => x.backend === BACKEND && x.to === 'down')
      if (l) m.set(n, l.t)
    }))
    return m.size === nodes.length && m
  }, { deadlineMs: 15_000, intervalMs: 200 })).value
  const fallMs = Math.round(h.fall * dur(h.interval) * (1 + JITTER) + dur(h.timeout))
  const b = bound(fallMs, 'fall x interval x (1 + jitter) + timeout')
  const slowest = Math.max(...down.values()) - tKill
  d.data.backendDown = Object.fromEntries([...down].map(([n, t]) => [n, ms(t - tKill)]))
  d.expect(`kill ${BACKEND} -> out on every node (slowest), store down`, ms(slowest), b.target, b.ok(slowest), 'ms')
  d.report(`spread between nodes deciding alone`, ms(Math.max(...down.values()) - Math.min(...down.values())), 'ms')
  const tStart = await svc(d.lab, BACKEND, 'start', 'responder')
  beBack = true
  d.mark(`start ${BACKEND}`, tStart)
  await until(`every node taking ${BACKEND} back`, async () => {
    const s = await allStatus(d)
    return [...s.values()].every((x) => x.states[BACKEND] === 'ready')
  }, { deadlineMs: 20_000, intervalMs: 200 })

  // Quorum back.
  let tHeal = 0
  for (const m of STOPPED) tHeal = await svc(d.lab, m, 'start', 'etcd')
  healed = true
  d.mark('etcd members started (quorum back)', tHeal)
  await until('etcd healthy', async () => Object.values(await etcdHealth(d.lab, 'lb1')).filter(Boolean).length === 3, { deadlineMs: 20_000, intervalMs: 200 })
  const follow = await until('one leader, every other node following', async () => {
    const s = await allStatus(d)
    const leaders = [...s.values()].filter((x) => x.fleet.role === 'leader')
    return leaders.length === 1 && [...s.values()].every((x) => x.fleet.role !== 'standalone') && nowMs()
  }, { deadlineMs: 30_000, intervalMs: 100 })
  d.mark('one leader, followers again', follow.value)
  d.report('quorum back -> one leader, every node following', ms(follow.value - tHeal), 'ms')
  const v = await fleetView(d.lab)
  d.report('leader after the outage', `${v.leader} (term ${v.term})`)

  // Let results flow a while, then: no backend changed state after quorum came back.
  await until('two stale bounds of following', async () => nowMs() > follow.value + 2 * stale, { deadlineMs: 10_000, intervalMs: 100 })
  const flips: string[] = []
  const flipped: (HealthLine & { node: string; afterHealMs: number })[] = []
  for (const n of nodes) for (const l of await healthLines(d, n, tHeal)) if (l.from !== l.to) {
    flips.push(`${n}: ${l.backend} ${l.from}->${l.to}`)
    flipped.push({ ...l, node: n, afterHealMs: ms(l.t - tHeal) })
  }
  d.data.flaps = flipped // with each change's detail (its source: own probe, or which leader's term)
  d.expect('backend state changes after quorum came back (flaps)', flips.length === 0 ? 0 : flips.slice(0, 4).join('; '), '0', flips.length === 0)

  for (const s of loads) await connsAfter(s, nowMs(), 50)
  for (const s of loads) await s.stop()
  // A connection already talking to the backend when it was killed fails with it (drill 4 counts
  // those apart); every other connection must have been served.
  const window: [number, number] = [tKill, Math.max(...down.values()) + 1]
  for (const [i, s] of loads.entries()) {
    const conns = s.of('conn').filter((c) => Number(c.t0) >= t0)
    const t = tally(conns)
    const inflight = tally(conns, ...window)
    const other = unexplained(conns, [window])
    d.data[`failed-${i}`] = conns.filter((c) => !c.ok).slice(0, 20)
    const name = i === 0 ? 'anycast' : 'VRRP'
    d.report(`${name} VIP: failed connections in flight on ${BACKEND} at its kill`, `${inflight.failed}/${inflight.ok + inflight.failed}`)
    d.expect(`${name} VIP: other failed connections through the outage`, `${other}/${t.ok + t.failed}`, '0', other === 0)
  }
})
