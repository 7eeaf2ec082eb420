// Drill 3, lb-freeze: SIGSTOP every process on lb3 (BIRD, l4lb, agent; the kernel
// still answers, so this is a hung node, not a dead one) under 200 new connections/s.
// Only BFD can notice: expect the router's BFD session Down within the detection time
// (100 ms x 3) after the last control packet it received from lb3 (traced in BIRD's log
// for the drill), and the nexthop withdrawn right after; bounds carry SLACK_MS; count failed connections. Then SIGCONT and
// wait until BGP is back and lb3 is announced again.
import { drill, tally, unexplained, ms, bound, CONN_TIMEOUT_MS } from './lib/harness.ts'
import { routeEvent, hasNode, moreConns, connsAfter, survivorLoss } from './lib/scenario.ts'
import { lbAddr, BIRD_SOCK } from '../scripts/lib/labctl.ts'
import { until } from '../scripts/lib/poll.ts'

const VICTIM = process.env.LAB_VICTIM ?? 'lb3'

/** BIRD log time "2026-11-23 09:48:41.648515" (UTC in the containers) -> epoch ms. */
function birdTime(line: string): number {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d+)/.exec(line)
  return m ? Date.parse(`${m[1]}T${m[2].slice(0, 12)}Z`) + Number(`0.${m[2].split('.')[1]}`) * 1000 % 1 : NaN
}

await drill('03-lb-freeze', async (d) => {
  const vip = d.lab.vips.anycast
  const addr = lbAddr(d.lab, VICTIM)
  const watch = d.routeWatch()
  await watch.waitFor('route watcher', (e) => e.ev === 'ready', 10_000)
  const hold = d.load('hold', vip, { count: 100, ping: 100, timeout: CONN_TIMEOUT_MS, duration: 110_000 })
  await hold.waitFor('long-lived connections open', (e) => e.ev === 'ready', 20_000)
  const steady = d.load('steady', vip, { rate: 200, timeout: CONN_TIMEOUT_MS, duration: 60_000 })
  await steady.waitFor('steady load', (e) => e.ev === 'ready', 10_000)
  await moreConns(steady, 200)

  // BFD packet tracing on the router for the drill only (about 60 log lines/s): the time of the last
  // control packet received from the victim is where BFD's detection time starts.
  const traced = async () => Number((await d.sh('router', `grep -c 'CTL received from ${addr} ' /run/lab/bird.log || true`)).trim())
  const tracedBefore = await traced()
  await d.sh('router', `birdc -s ${BIRD_SOCK} debug bfd1 all`)
  d.cleanup('router: BFD packet tracing off', async () => { await d.sh('router', `birdc -s ${BIRD_SOCK} debug bfd1 '{ states, events }'`) })
  // Freeze only once a packet from the victim has been traced: on a quiet machine the freeze
  // could otherwise land before the first traced packet, and the measure would pick up one
  // from an earlier drill (run 12 of issue 10's series: "147 s").
  await until(`a traced BFD packet from ${VICTIM}`, async () => (await traced()) > tracedBefore, { deadlineMs: 5_000, intervalMs: 20 })
  let thawed = false
  d.cleanup(`thaw ${VICTIM}`, async () => { if (!thawed) await d.sh(VICTIM, 'kill -CONT -1') })
  const out = await d.sh(VICTIM, 'date +%s.%N; kill -STOP -1')
  const tFreeze = Number(out.trim().split('\n')[0]) * 1000
  d.mark(`SIGSTOP ${VICTIM}`, tFreeze)
  const tGone = await routeEvent(watch, `router to drop ${VICTIM}`, tFreeze, (a) => !hasNode(d, VICTIM)(a) && a.length > 0, 5_000)
  d.mark('nexthop withdrawn', tGone)
  await connsAfter(steady, tGone + 1000, 50)

  const log = await d.sh('router', 'cat /run/lab/bird.log')
  const bfdLine = log.split('\n').find((l) => l.includes(`Session to ${addr} changed state`) && /to Down/.test(l) && birdTime(l) >= tFreeze - 1)
  const tBfd = bfdLine ? birdTime(bfdLine) : NaN
  if (bfdLine) d.mark('BFD down', tBfd)
  const lastRx = log.split('\n').filter((l) => l.includes(`CTL received from ${addr}`) && birdTime(l) <= tBfd && birdTime(l) >= tFreeze - 1000).pop()
  const tLastRx = lastRx ? birdTime(lastRx) : NaN
  if (lastRx) d.mark('last BFD packet from victim', tLastRx)

  const tThaw = Number((await d.sh(VICTIM, 'date +%s.%N; kill -CONT -1')).trim().split('\n')[0]) * 1000
  thawed = true
  d.mark(`SIGCONT ${VICTIM}`, tThaw)
  const tBack = await routeEvent(watch, `router to re-add ${VICTIM}`, tThaw, hasNode(d, VICTIM), 30_000)
  d.mark('nexthop back', tBack)
  await connsAfter(steady, tBack + 500, 50)
  await steady.stop()
  await hold.stop()
  await watch.stop()
  survivorLoss(d, hold, [VICTIM], tFreeze, Infinity)
  const conns = steady.of('conn')
  d.conns.push(...conns)

  const during = tally(conns, tFreeze, tGone)
  const other = unexplained(conns, [[tFreeze, tGone + 100], [tBack - 50, tBack + 500]])
  const readd = tally(conns, tBack - 50, tBack + 500)
  // BFD's detection time (RFC 5880 6.8.4) runs from the last control packet received: multiplier x
  // the peer's TX interval. The freeze lands somewhere within one TX interval after that packet, so
  // freeze -> Down is at most the detection time, plus timer and scheduling noise: the slack.
  const detect = d.lab.timers.bfd.multiplier * d.lab.timers.bfd.intervalMs
  const b = bound(detect, 'BFD detection time = multiplier x interval')
  d.expect('BFD: freeze -> session Down', bfdLine ? ms(tBfd - tFreeze) : 'not logged', b.target, b.ok(tBfd - tFreeze), 'ms')
  if (Number.isFinite(tLastRx)) {
    // Measured the way BFD defines it: from the last packet the router received from the frozen node.
    const lb = bound(detect, 'multiplier x interval')
    d.expect('BFD: last packet received -> session Down', ms(tBfd - tLastRx), `>= ${detect - 10} and ${lb.target}`, tBfd - tLastRx >= detect - 10 && lb.ok(tBfd - tLastRx), 'ms')
  }
  d.expect('withdrawal after freeze', ms(tGone - tFreeze), '<= 1000 ms', tGone - tFreeze <= 1000, 'ms')
  d.report('failed new connections, freeze -> withdrawal', `${during.failed}/${during.ok + during.failed}`)
  d.report('failed new connections around re-add (+-0.5 s)', `${readd.failed}/${readd.ok + readd.failed}`)
  d.expect('failed new connections outside those windows', other, '0', other === 0)
  d.report('re-announce after thaw', ms(tBack - tThaw), 'ms')
  d.data.window = { tFreeze, tBfd, tGone, tThaw, tBack }
  d.data.bfdLine = bfdLine
  d.data.lastRxLine = lastRx
  if (Number.isFinite(tLastRx)) d.report('BFD: last packet received before the freeze by', ms(tFreeze - tLastRx), 'ms')
})
