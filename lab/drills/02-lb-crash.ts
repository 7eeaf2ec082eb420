// Drill 2, lb-crash: SIGKILL l4lb on lb2 under a steady loop of new connections
// (200/s from 64 client addresses) with 150 long-lived connections open.
// Measures: time from the kill until the router drops lb2's nexthop (health agent ->
// birdc disable vip -> BGP withdraw; target: the agent's hold-down bound + slack); new connections failed meanwhile;
// established connections lost on the OTHER nodes (the plain ECMP rehash moves some
// of their flows); stickiness afterwards. Then restarts l4lb and waits for re-announce.
import { drill, tally, unexplained, viaNode, ms, bound, CONN_TIMEOUT_MS } from './lib/harness.ts'
import { routeEvent, hasNode, moreConns, connsAfter, mapping, sameMap, survivorLoss } from './lib/scenario.ts'
import { svc } from '../scripts/lib/labctl.ts'

// lb1 by default: with hash-threshold ECMP, dropping the FIRST nexthop shifts other nodes' flows (the middle one does not).
const VICTIM = process.env.LAB_VICTIM ?? 'lb1'

await drill('02-lb-crash', async (d) => {
  const vip = d.lab.vips.anycast
  const before = await mapping(d, vip)
  const watch = d.routeWatch()
  await watch.waitFor('route watcher', (e) => e.ev === 'ready', 10_000)
  const hold = d.load('hold', vip, { count: 150, ping: 100, timeout: CONN_TIMEOUT_MS, duration: 60_000 })
  await hold.waitFor('long-lived connections open', (e) => e.ev === 'ready', 20_000)
  const steady = d.load('steady', vip, { rate: 200, timeout: CONN_TIMEOUT_MS, duration: 60_000 })
  await steady.waitFor('steady load', (e) => e.ev === 'ready', 10_000)
  await moreConns(steady, 200)

  let restarted = false
  d.cleanup('restart l4lb on ' + VICTIM, async () => { if (!restarted) await svc(d.lab, VICTIM, 'start', 'l4lb') })
  const tKill = await svc(d.lab, VICTIM, 'kill', 'l4lb')
  d.mark(`kill l4lb ${VICTIM}`, tKill)
  const tGone = await routeEvent(watch, `router to drop ${VICTIM}`, tKill, (a) => !hasNode(d, VICTIM)(a) && a.length > 0, 5_000)
  d.mark('nexthop withdrawn', tGone)
  await connsAfter(steady, tGone + 1000, 50)

  const tStart = await svc(d.lab, VICTIM, 'start', 'l4lb')
  restarted = true
  d.mark(`start l4lb ${VICTIM}`, tStart)
  const tBack = await routeEvent(watch, `router to re-add ${VICTIM}`, tStart, hasNode(d, VICTIM), 20_000)
  d.mark('nexthop back', tBack)
  await connsAfter(steady, tBack + 500, 50)
  await steady.stop()
  await hold.stop()
  await watch.stop()
  d.conns.push(...steady.of('conn'))

  const conns = steady.of('conn')
  const during = tally(conns, tKill, tGone)
  const readd = tally(conns, tBack - 50, tBack + 500)
  const other = unexplained(conns, [[tKill, tGone + 100], [tBack - 50, tBack + 500]])
  // Hold-down (issue 10 kind 3): the agent withdraws once failures have lasted down-after; the first
  // failed probe comes within one interval (+ timeout), the deciding one within another.
  const ag = d.lab.timers.agent
  const wb = bound(ag.downAfterMs + 2 * (ag.intervalMs + ag.timeoutMs), 'down-after + 2 x (agent interval + timeout)')
  d.expect('withdrawal after crash', ms(tGone - tKill), wb.target, wb.ok(tGone - tKill), 'ms')
  d.report('failed new connections, kill -> withdrawal', `${during.failed}/${during.ok + during.failed}`)
  d.report('failed new connections around re-add (+-0.5 s)', `${readd.failed}/${readd.ok + readd.failed}`)
  d.expect('failed new connections outside those windows', other, '0', other === 0)
  const held = hold.of('held')
  const lost = hold.of('lost').filter((e) => Number(e.t) >= tKill && Number(e.t) < tBack)
  const onVictim = held.filter((h) => viaNode(d.lab, h.peer) === VICTIM).length
  const lostVictim = lost.filter((e) => viaNode(d.lab, e.peer) === VICTIM).length
  d.report(`established on ${VICTIM} lost (its l4lb died)`, `${lostVictim}/${onVictim}`)
  survivorLoss(d, hold, [VICTIM], tKill, Infinity)
  d.expect('established lost before the kill', hold.of('lost').filter((e) => Number(e.t) < tKill).length, '0', hold.of('lost').filter((e) => Number(e.t) < tKill).length === 0)
  d.report('re-announce after restart', ms(tBack - tStart), 'ms')
  const after = await mapping(d, vip)
  const how = (m: typeof after) => m.sticky ? '100 %' : `broken: ${m.split.length} clients on two backends, ${m.failed} failed`
  d.data.split = { before: before.split, after: after.split }
  d.expect('stickiness before', how(before), '100 %', before.sticky)
  d.expect('stickiness after (one backend per client)', how(after), '100 %', after.sticky)
  d.expect('clients on the same backend as before', `${sameMap(before.map, after.map)}/${before.map.size}`, 'all', sameMap(before.map, after.map) === before.map.size)
  d.data.window = { tKill, tGone, tStart, tBack }
})
