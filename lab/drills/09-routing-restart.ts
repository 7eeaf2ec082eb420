// Drill 9, routing-restart: the routing daemons can be reloaded and restarted on a healthy
// lab without anyone noticing (issue 10, kinds 2 and 5). Under 200 new connections/s and 150
// long-lived connections (pinged every 100 ms):
//  A. `birdc configure` on lb2 with its config unchanged. Whether lb2 announces lives in
//     the config BIRD reads (/run/lab/vip.state.conf, written by the health agent), so the
//     reload keeps announcing: expect no route change, no reset, no failure.
//  B. Restart BIRD on lb2 (`svc.sh restart bird`: `birdc graceful restart`, then a new BIRD).
//     The new BIRD reads the same state file: protocol vip must be up in its first answer.
// Every phase ends once the router's session to lb2 is Established again and 2 s of load
// have passed after it. Held flows lost and routes lost are counted per phase.
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

/** Waits until the router's BGP session to the victim is Established (deadline 20 s). */
async function established(d: Drill): Promise<void> {
  await until(`router's session to ${VICTIM} Established`, async () =>
    (await birdProtocols(d.lab, 'router')).some((p) => p.name === VICTIM && p.info.startsWith('Established')), { deadlineMs: 20_000, intervalMs: 100 })
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
  d.cleanup(`BIRD running on ${VICTIM}`, async () => { await d.sh(VICTIM, '/l4lb/lab/node/svc.sh start bird >/dev/null') })
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
  const lostB = lost(tB, Infinity)
  d.report(`B: restart: router dropped ${VICTIM}`, drops(d, watch, tB, Infinity), 'times')
  d.report('B: restart: held connections reset', `${lostB.length}/${hold.of('held').length}`)
  const fB = tally(conns, tB, Infinity)
  d.report('B: restart: failed new connections', `${fB.failed}/${fB.ok + fB.failed}`)
  d.report('B: restart -> session Established', ms(tB1 - tB), 'ms')
  const other = unexplained(conns, [[tB, Infinity]])
  d.expect('failed new connections outside the restart', other, '0', other === 0)
  d.expect('held connections reset before the drill\'s first step', hold.of('lost').filter((e) => Number(e.t) < tA).length, '0', hold.of('lost').filter((e) => Number(e.t) < tA).length === 0)
  d.data.window = { tA, tA1, tB, tB1 }
  d.data.lost = hold.of('lost').slice(0, 50)
})
