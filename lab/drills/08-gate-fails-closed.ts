// Drill 8, gate-fails-closed: the anycast announcement must not outlive the proof that
// l4lb is healthy, whatever happens to the thing that checks it (issue 10, kind 1).
//  A. SIGKILL the health agent on lb2 (l4lb stays healthy), then SIGKILL l4lb too: the
//     agent's lease (/run/lab/lease, renewed on every healthy tick) goes stale and the
//     gate (lab/node/gate.sh) withdraws: expect the router to drop lb2 within the lease
//     time + the gate's poll + slack, and no connection to fail after that.
//  B. Make BIRD's control socket unreachable for the agent (moved aside), then SIGKILL
//     l4lb: every birdc call fails; the agent logs and counts each failure and, when
//     "disable vip" fails, stops the node's BFD daemon and BIRD (the router withdraws).
//     Expect the withdrawal within the agent's detection + the lease path + slack, and
//     the failures counted in the agent's events.
// Cleanup restarts what was killed and puts the socket back; the harness then waits
// until the lab is at its baseline again.
import { drill, unexplained, tally, ms, bound, CONN_TIMEOUT_MS } from './lib/harness.ts'
import { routeEvent, hasNode, moreConns, connsAfter, agentEvents, survivorLoss } from './lib/scenario.ts'
import { svc } from '../scripts/lib/labctl.ts'
import { nowMs } from '../scripts/lib/poll.ts'

const VICTIM = process.env.LAB_VICTIM ?? 'lb2'
const RESTORE = 'cd /run/lab; [ -e bird.ctl.hidden ] && { [ -S bird.ctl ] && rm -f bird.ctl.hidden || mv bird.ctl.hidden bird.ctl; }; ' +
  'S=/l4lb/lab/node/svc.sh; $S start bfd >/dev/null; $S start bird >/dev/null; $S start l4lb >/dev/null; $S start agent >/dev/null; true'

await drill('08-gate-fails-closed', async (d) => {
  const vip = d.lab.vips.anycast
  const a = d.lab.timers.agent
  const watch = d.routeWatch()
  await watch.waitFor('route watcher', (e) => e.ev === 'ready', 10_000)
  const hold = d.load('hold', vip, { count: 100, ping: 100, timeout: CONN_TIMEOUT_MS, duration: 110_000 })
  await hold.waitFor('long-lived connections open', (e) => e.ev === 'ready', 20_000)
  const steady = d.load('steady', vip, { rate: 200, timeout: CONN_TIMEOUT_MS, duration: 90_000 })
  await steady.waitFor('steady load', (e) => e.ev === 'ready', 10_000)
  await moreConns(steady, 200)
  d.cleanup(`restore ${VICTIM}`, async () => { await d.sh(VICTIM, RESTORE) })

  // A. the checker dies
  const tAgent = await svc(d.lab, VICTIM, 'kill', 'agent')
  d.mark(`kill agent ${VICTIM}`, tAgent)
  const tL4lb = await svc(d.lab, VICTIM, 'kill', 'l4lb')
  d.mark(`kill l4lb ${VICTIM}`, tL4lb)
  const tGoneA = await routeEvent(watch, `router to drop ${VICTIM} (agent dead)`, tAgent, (x) => !hasNode(d, VICTIM)(x) && x.length > 0, 5_000)
  d.mark('nexthop withdrawn (lease expired)', tGoneA)
  await connsAfter(steady, tGoneA + 1000, 100)
  const tRestartA = nowMs()
  await d.sh(VICTIM, RESTORE)
  d.mark(`restart l4lb + agent ${VICTIM}`, tRestartA)
  const tBackA = await routeEvent(watch, `router to re-add ${VICTIM}`, tRestartA, hasNode(d, VICTIM), 30_000)
  d.mark('nexthop back', tBackA)
  await connsAfter(steady, tBackA + 1000, 100)

  // B. BIRD's control socket unreachable for the agent, then l4lb dies
  const tHide = nowMs()
  await d.sh(VICTIM, 'mv /run/lab/bird.ctl /run/lab/bird.ctl.hidden')
  d.mark('birdc socket hidden', tHide)
  const tL4lbB = await svc(d.lab, VICTIM, 'kill', 'l4lb')
  d.mark(`kill l4lb ${VICTIM}`, tL4lbB)
  const tGoneB = await routeEvent(watch, `router to drop ${VICTIM} (birdc unreachable)`, tL4lbB, (x) => !hasNode(d, VICTIM)(x) && x.length > 0, 5_000)
  d.mark('nexthop withdrawn', tGoneB)
  await connsAfter(steady, tGoneB + 1000, 100)
  const evs = await agentEvents(d, VICTIM, tHide)
  const tRestartB = nowMs()
  await d.sh(VICTIM, RESTORE)
  d.mark(`restore ${VICTIM}`, tRestartB)
  const tBackB = await routeEvent(watch, `router to re-add ${VICTIM}`, tRestartB, hasNode(d, VICTIM), 30_000)
  d.mark('nexthop back', tBackB)
  await connsAfter(steady, tBackB + 1000, 100)
  await steady.stop()
  await hold.stop()
  await watch.stop()
  survivorLoss(d, hold, [VICTIM], tAgent, Infinity)
  const conns = steady.of('conn')
  d.conns.push(...conns)

  const leaseB = bound(a.leaseMs + a.intervalMs, 'lease + gate poll')
  d.expect('A: agent killed -> route withdrawn', ms(tGoneA - tAgent), leaseB.target, leaseB.ok(tGoneA - tAgent), 'ms')
  const detect = a.downAfterMs + 2 * (a.intervalMs + a.timeoutMs) // the agent's hold-down, then its deciding probe
  const bB = bound(detect + a.leaseMs + a.intervalMs, 'agent detection + lease + gate poll')
  d.expect('B: l4lb killed, birdc unreachable -> route withdrawn', ms(tGoneB - tL4lbB), bB.target, bB.ok(tGoneB - tL4lbB), 'ms')
  const failedB = evs.filter((e) => e.ev === 'birdc-failed')
  d.expect('B: failed birdc calls logged and counted by the agent', failedB.length ? `${failedB.length} (count ${String(failedB[failedB.length - 1].failures)})` : 0, '>= 1', failedB.length > 0)
  const how = evs.filter((e) => e.ev === 'withdraw-fallback' || e.ev === 'gate-withdraw').map((e) => `${e.ev}:${String(e.how ?? '')}`)
  d.report('B: how the route was withdrawn', how.join(', ') || 'n/a')
  const wA = tally(conns, tL4lb, tGoneA + 100)
  const wB = tally(conns, tL4lbB, tGoneB + 100)
  d.report('A: failed new connections, l4lb kill -> withdrawal', `${wA.failed}/${wA.ok + wA.failed}`)
  d.report('B: failed new connections, l4lb kill -> withdrawal', `${wB.failed}/${wB.ok + wB.failed}`)
  const other = unexplained(conns, [[tL4lb, tGoneA + 100], [tBackA - 50, tBackA + 500], [tL4lbB, tGoneB + 100], [tBackB - 50, tBackB + 500]])
  d.expect('failed new connections after the withdrawals (outside the kill and re-add windows)', other, '0', other === 0)
  d.report('A: re-announce after restart', ms(tBackA - tRestartA), 'ms')
  d.report('B: re-announce after restore', ms(tBackB - tRestartB), 'ms')
  d.data.window = { tAgent, tL4lb, tGoneA, tRestartA, tBackA, tHide, tL4lbB, tGoneB, tRestartB, tBackB }
})
