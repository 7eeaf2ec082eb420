// Drill 7, rolling-restart: restart l4lb on every anycast node, one at a time, under
// 200 new connections/s. Per node: drain first (hold the announcement down with
// /run/lab/withdraw and wait until the router has dropped the nexthop), SIGTERM l4lb
// (it finishes what it has and exits), start it, release the hold, wait until the
// agent has re-announced (healthy) and the router has the nexthop back.
// Expect: no failed connection caused by l4lb stopping or starting. A plain ECMP
// route change (the nexthop leaving, then coming back) rehashes flows: a
// connection whose handshake straddles that instant can be reset by the node its
// later packets land on. Those are counted apart (within 100 ms of a route
// change) and reported; drill 6 shows the resilient nexthop group that removes them.
import { drill, tally, ms, CONN_TIMEOUT_MS } from './lib/harness.ts'
import { routeEvent, hasNode, moreConns, connsAfter, survivorLoss } from './lib/scenario.ts'
import { svc, lbNames } from '../scripts/lib/labctl.ts'
import { nowMs } from '../scripts/lib/poll.ts'

await drill('07-rolling-restart', async (d) => {
  const watch = d.routeWatch()
  await watch.waitFor('route watcher', (e) => e.ev === 'ready', 10_000)
  const hold = d.load('hold', d.lab.vips.anycast, { count: 100, ping: 100, timeout: CONN_TIMEOUT_MS, duration: 110_000 })
  await hold.waitFor('long-lived connections open', (e) => e.ev === 'ready', 20_000)
  const steady = d.load('steady', d.lab.vips.anycast, { rate: 200, timeout: CONN_TIMEOUT_MS, duration: 110_000 })
  await steady.waitFor('steady load', (e) => e.ev === 'ready', 10_000)
  await moreConns(steady, 200)
  const per: string[] = []
  const routeChanges: number[] = []
  const rounds: Array<[string, number, number]> = []
  for (const n of lbNames(d.lab)) {
    d.cleanup(`release ${n}`, async () => { await d.sh(n, 'rm -f /run/lab/withdraw; /l4lb/lab/node/svc.sh start l4lb >/dev/null') })
    // Timed inside the node: a docker exec can take most of a second to start on a busy machine.
    const t0 = Number((await d.sh(n, 'date +%s.%N; touch /run/lab/withdraw')).trim().split('\n')[0]) * 1000
    d.mark(`drain ${n}`, t0)
    const tGone = await routeEvent(watch, `router to drop ${n}`, t0, (a) => !hasNode(d, n)(a) && a.length > 0, 5_000)
    const tStop = await svc(d.lab, n, 'stop', 'l4lb')
    const tStopped = nowMs()
    await svc(d.lab, n, 'start', 'l4lb')
    await d.sh(n, 'rm -f /run/lab/withdraw')
    const tBack = await routeEvent(watch, `router to re-add ${n}`, tStopped, hasNode(d, n), 20_000)
    routeChanges.push(tGone, tBack)
    rounds.push([n, t0, tBack + 300])
    d.mark(`${n} back`, tBack)
    await connsAfter(steady, tBack + 300, 50)
    const f = tally(steady.of('conn'), t0, tBack + 300)
    per.push(`${n}: ${f.failed}`)
    d.report(`${n}: withdrawn / SIGTERM exit / back in service`, `${ms(tGone - t0)} / ${ms(tStopped - tStop)} / ${ms(tBack - t0)}`, 'ms')
  }
  await steady.stop()
  await hold.stop()
  await watch.stop()
  for (const [n, from, to] of rounds) survivorLoss(d, hold, [n], from, to, `${n}: `)
  const conns = steady.of('conn')
  d.conns.push(...conns)
  const t = tally(conns)
  const nearRouteChange = (c: (typeof conns)[number]): boolean =>
    routeChanges.some((r) => Number(c.t0) <= r + 100 && Number(c.t1 ?? c.t0) >= r - 100)
  const rehash = conns.filter((c) => !c.ok && nearRouteChange(c)).length
  d.report('failed per node', per.join(', '))
  d.report('failed at an ECMP route change (plain hash-threshold rehash)', `${rehash}/${t.ok + t.failed}`)
  d.expect('failed connections caused by the restarts', `${t.failed - rehash}/${t.ok + t.failed}`, '0', t.failed - rehash === 0)
})
