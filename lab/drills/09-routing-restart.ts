// Drill 9, routing-restart: the routing daemons can be reloaded and restarted on a healthy
// lab without anyone noticing (issue 10, kinds 2 and 5). Under 200 new connections/s and 150
// long-lived connections (pinged every 100 ms):
//  A. `birdc configure` on lb2 with its config unchanged. Whether lb2 announces lives in
//     the config BIRD reads (/run/lab/vip.state.conf, written by the health agent), so the
//     reload keeps announcing: expect no route change, no reset, no failure.
//  B. Restart BIRD on lb2 (`svc.sh restart bird`: `birdc graceful restart`, then `bird -R`).
//     The new BIRD reads the same state file: protocol vip must be up in its first answer. With
//     BGP graceful restart the router keeps lb2's route while the session is re-established
//     (BFD runs in its own BIRD on the lb nodes, so it stays up: only a dead or frozen node
//     fails it). Expect no route change, no reset, no failure.
//  C. Restart BIRD on the router the same way: its kernel protocol keeps the routes (persist,
//     graceful restart) until the sessions are back. Expect the same.
// Every phase ends once the router's sessions are Established again and 2 s of load have
// passed after it. Held flows lost and routes lost are counted per phase.
import { drill, tally, unexplained, viaNode, ms, CONN_TIMEOUT_MS, type Drill } from './lib/harness.ts'
import { hasNode, moreConns, connsAfter } from './lib/scenario.ts'
import type { Stream } from './lib/stream.ts'
import { birdProtocols, BIRD_SOCK } from '../scripts/lib/labctl.ts'
import { until, nowMs } from '../scripts/lib/poll.ts'

const VICTIM = process.env.LAB_VICTIM ?? 'lb2'

/** Route events after t in which the victim's nexthop is missing (the router dropped it). */
function drops(d: Drill, watch: Stream, from: number, to: number): number {
  return watch.of('route').filter((e) => Number(e.t) >= from && Number(e.t) < to && !hasNode(d, VICTIM)(e.active as string[])).length
}

/** Waits until the router's BGP sessions (to the victim, or to every lb node) are Established (deadline 30 s). */
async function established(d: Drill, all = false): Promise<void> {
  await until(`router's session${all ? 's' : ' to ' + VICTIM} Established`, async () => {
    const bgp = (await birdProtocols(d.lab, 'router')).filter((p) => p.proto === 'BGP' && (all || p.name === VICTIM))
    return bgp.length > 0 && bgp.every((p) => p.info.startsWith('Established'))
  }, { deadlineMs: 30_000, intervalMs: 100 })
}

/** Route events in [from, to) that lost any nexthop the router had before (a node dropped or the route gone). */
function anyDrops(watch: Stream, from: number, to: number): number {
  const evs = watch.of('route')
  let n = 0
  for (let i = 1; i < evs.length; i++) {
    const t = Number(evs[i].t)
    const now = evs[i].active as string[]
    if (t >= from && t < to && (evs[i - 1].active as string[]).some((g) => !now.includes(g))) n++
  }
  return n
}

await drill('09-routing-restart', async (d) => {
  const vip = d.lab.vips.anycast
  const watch = d.routeWatch()
  await watch.waitFor('route watcher', (e) => e.ev === 'ready', 10_000)
  const hold = d.load('hold', vip, { count: 150, ping: 100, timeout: CONN_TIMEOUT_MS, duration: 110_000 })
  await hold.waitFor('long-lived connections open', (e) => e.ev === 'ready', 20_000)
  const steady = d.load('steady', vip, { rate: 200, timeout: CONN_TIMEOUT_MS, duration: 110_000 })
  await steady.waitFor('steady load', (e) => e.ev === 'ready', 10_000)
  await moreConns(steady, 200)
  d.cleanup('BIRD running on the router and on ' + VICTIM, async () => {
    await d.sh(VICTIM, '/l4lb/lab/node/svc.sh start bird >/dev/null')
    await d.sh('router', '/l4lb/lab/node/svc.sh start bird >/dev/null')
  })
  const onVictim = hold.of('held').filter((h) => viaNode(d.lab, h.peer) === VICTIM).length

  // A. reload with an unchanged config
  const tA = Number((await d.sh(VICTIM, `date +%s.%N; birdc -s ${BIRD_SOCK} configure`)).split('\n')[0]) * 1000
  d.mark(`birdc configure ${VICTIM}`, tA)
  await established(d)
  await connsAfter(steady, tA + 2000, 50)
  const tA1 = nowMs()

  // B. restart BIRD
  const out = await d.sh(VICTIM, '/l4lb/lab/node/svc.sh restart bird; for i in $(seq 1 100); do ' +
    `s=$(birdc -s ${BIRD_SOCK} show protocols vip 2>/dev/null | awk '$1 == "vip" { print $4 }'); [ -n "$s" ] && { echo "vip-first $s"; break; }; sleep 0.02; done`)
  const tB = Number(/^(\d+\.\d+) (stop|graceful) bird/m.exec(out)?.[1] ?? NaN) * 1000
  const vipFirst = /^vip-first (\S+)/m.exec(out)?.[1] ?? 'no answer'
  d.mark(`restart BIRD ${VICTIM}`, tB)
  await established(d)
  const tB1 = nowMs()
  await connsAfter(steady, tB1 + 2000, 50)
  const tB2 = nowMs()

  // C. restart BIRD on the router
  const outC = await d.sh('router', '/l4lb/lab/node/svc.sh restart bird')
  const tC = Number(/^(\d+\.\d+) (stop|graceful) bird/m.exec(outC)?.[1] ?? NaN) * 1000
  d.mark('restart BIRD router', tC)
  await established(d, true)
  const tC1 = nowMs()
  await connsAfter(steady, tC1 + 2000, 50)
  const tEnd = nowMs()
  await steady.stop()
  await hold.stop()
  await watch.stop()
  const conns = steady.of('conn')
  d.conns.push(...conns)
  const lost = (from: number, to: number) => hold.of('lost').filter((e) => Number(e.t) >= from && Number(e.t) < to)

  const lostA = lost(tA, tA1)
  d.expect(`A: configure: router dropped ${VICTIM}`, drops(d, watch, tA, tA1), '0 times', drops(d, watch, tA, tA1) === 0)
  d.expect('A: configure: held connections reset', `${lostA.length}/${hold.of('held').length} (${lostA.filter((e) => viaNode(d.lab, e.peer) === VICTIM).length}/${onVictim} on ${VICTIM})`, '0', lostA.length === 0)
  const fA = tally(conns, tA, tA1)
  d.expect('A: configure: failed new connections', `${fA.failed}/${fA.ok + fA.failed}`, '0', fA.failed === 0)
  d.expect('B: restart: protocol vip in the new BIRD\'s first answer', vipFirst, 'up (state from vip.state.conf)', vipFirst === 'up')
  const lostB = lost(tB, tB2)
  const dropsB = drops(d, watch, tB, tB2)
  d.expect(`B: restart: router dropped ${VICTIM}`, dropsB, '0 times', dropsB === 0)
  d.expect('B: restart: held connections reset', `${lostB.length}/${hold.of('held').length}`, '0', lostB.length === 0)
  const fB = tally(conns, tB, tB2)
  d.expect('B: restart: failed new connections', `${fB.failed}/${fB.ok + fB.failed}`, '0', fB.failed === 0)
  d.report('B: restart -> session Established', ms(tB1 - tB), 'ms')
  const lostC = lost(tC, tEnd)
  const dropsC = anyDrops(watch, tC, tEnd)
  d.expect('C: router restart: nexthops lost by the router', dropsC, '0 times', dropsC === 0)
  d.expect('C: router restart: held connections reset', `${lostC.length}/${hold.of('held').length}`, '0', lostC.length === 0)
  const fC = tally(conns, tC, tEnd)
  d.expect('C: router restart: failed new connections', `${fC.failed}/${fC.ok + fC.failed}`, '0', fC.failed === 0)
  d.report('C: router restart -> all sessions Established', ms(tC1 - tC), 'ms')
  const other = unexplained(conns, [])
  d.expect('failed new connections in the whole drill', other, '0', other === 0)
  d.expect('held connections reset before the drill\'s first step', hold.of('lost').filter((e) => Number(e.t) < tA).length, '0', hold.of('lost').filter((e) => Number(e.t) < tA).length === 0)
  d.data.window = { tA, tA1, tB, tB1, tB2, tC, tC1, tEnd }
  d.data.lost = hold.of('lost').slice(0, 50)
})
