// Drill 18, proxy-503 (issue 14): one proxy (be2) starts answering "HTTP/1.1 503 Service Unavailable"
// to every CONNECT while its TCP port stays open (lab/node/responder.ts, /run/lab/connect-503), so a
// tcp check still passes. Under steady tunnel load through every balancer node (anycast VIP, VRRP
// VIP, the VRRP backup by its own address), every node's tunnels pool (`observe: http-connect`)
// counts each 503 it passes as a passive failure and ejects the proxy after `consecutive` of them;
// the health leader's connect check (a CONNECT through the proxy to the origin) fails too and holds
// it out for the whole fleet once the passive ejection ends.
// Measured from the proxy's own log (its clock, one kernel clock for every container): per node, when
// its last new tunnel arrived after the switch and how many 503s it passed; the share of client tunnels
// that failed meanwhile. Bound per node: its last tunnel no later than slack after the
// consecutive-th 503 it passed (passive ejection), or, for a node that passed fewer, than slack
// after the leader's connect check can have failed `fall` times (interval and fast-interval, each
// with the checker's 10 % jitter). Then 503s stop and every node sends the proxy tunnels again.
import { drill, tally, ms, SLACK_MS, CONN_TIMEOUT_MS } from './lib/harness.ts'
import { connsAfter, moreConns } from './lib/scenario.ts'
import { entries, targets, tunnelLoad, received, dur, FAIL_FILE, type Received } from './lib/tunnels.ts'
import { fleetNodes } from './lib/fleet.ts'
import { until } from '../scripts/lib/poll.ts'

const VICTIM = process.env.LAB_VICTIM ?? 'be2'
const JITTER = 0.1 // l4lb's default pools[].health.jitter (the lab does not set it)
const HELD_OUT_MS = 4000 // watched after the switch: past the 2 s passive ejection, so a return would show
const RATE = { anycast: 100, single: 40 } // tunnels/s: the anycast VIP spreads over three nodes

await drill('18-proxy-503', async (d) => {
  const tu = d.lab.l4lb.tunnels
  const nodes = fleetNodes(d.lab)
  const { check } = targets(d)
  const activeMs = Math.round(dur(tu.health.interval) * (1 + JITTER) + (tu.health.fall - 1) * dur(tu.health.interval) * (1 + JITTER))
  const k = tu.passive.consecutive
  const loads = (await entries(d)).map((e) => ({ e, s: tunnelLoad(d, 'steady', e.addr, { rate: e.nodes.length > 1 ? RATE.anycast : RATE.single, timeout: CONN_TIMEOUT_MS, duration: 40_000 }) }))
  for (const { s } of loads) await s.waitFor('tunnel load', (x) => x.ev === 'ready', 10_000)
  for (const { s } of loads) await moreConns(s, 100)

  d.cleanup(`${VICTIM} answers CONNECT again`, async () => { await d.sh(VICTIM, `rm -f ${FAIL_FILE}`) })
  // The switch's time by the proxy's own clock, not when docker exec started or returned: the file's
  // mtime (the kernel's coarse clock, never later than the write), so every CONNECT that found the
  // file is logged after it.
  const tFail = Number(await d.sh(VICTIM, `touch ${FAIL_FILE}; date -r ${FAIL_FILE} +%s%3N`))
  d.mark(`${VICTIM} answers 503 to every CONNECT`, tFail)
  for (const { s } of loads) await connsAfter(s, tFail + HELD_OUT_MS, 20, HELD_OUT_MS + 20_000)

  const got = (await received(d, VICTIM, tFail)).filter((r) => r.t <= tFail + HELD_OUT_MS)
  const clients = got.filter((r) => r.target !== check)
  const checks = got.filter((r) => r.target === check)
  // tFail (the file's coarse mtime) can be a few ms before the file existed: a CONNECT in between was
  // answered 200 and logged after tFail. The proxy's first 503 (its own clock, taken right before it
  // looks for the file, one thread) is when the switch is in force for every later CONNECT.
  const first503 = got.find((r) => r.status === 503)?.t ?? tFail
  const before = clients.filter((r) => r.t < first503)
  d.report(`CONNECTs ${VICTIM} took between the file's mtime and its first 503 (coarse clock)`, `${before.length} in ${ms(first503 - tFail)} ms`)
  const wrong = clients.filter((r) => r.t >= first503 && r.status !== 503)
  d.data.notRefused = wrong.slice(0, 10)
  d.expect(`CONNECTs ${VICTIM} answered other than 503 after the switch`, wrong.length, '0', wrong.length === 0)
  const per: Record<string, { n503: number; lastMs: number | null; kthMs: number | null; boundMs: number }> = {}
  let slowest = 0
  for (const n of nodes) {
    const mine: Received[] = clients.filter((r) => r.node === n)
    const last = mine.length ? mine[mine.length - 1].t : null
    const kth = mine.length >= k ? mine[k - 1].t : null
    // Passive: slack after the k-th 503; else the leader's verdict (active bound) + slack.
    const boundMs = Math.min(kth === null ? Infinity : kth - tFail, activeMs) + SLACK_MS
    per[n] = { n503: mine.length, lastMs: last === null ? null : ms(last - tFail), kthMs: kth === null ? null : ms(kth - tFail), boundMs: ms(boundMs) }
    if (last !== null) { d.mark(`${n}: last tunnel to ${VICTIM}`, last); slowest = Math.max(slowest, last - tFail) }
    const how = kth === null ? `fewer than ${k} 503s: the leader's connect check, ${activeMs}` : `${k}th 503 at ${ms(kth - tFail)}`
    d.expect(`${n}: last new tunnel to ${VICTIM} after the switch (${mine.length} 503s passed)`, last === null ? 'none' : ms(last - tFail),
      `<= ${ms(boundMs)} ms (${how} + slack ${SLACK_MS})`, last !== null && last - tFail <= boundMs, last === null ? '' : 'ms')
  }
  d.data.perNode = per
  d.data.checksFailed = checks.length
  d.report(`every node stopped sending ${VICTIM} new tunnels (slowest, the proxy's clock)`, ms(slowest), 'ms')
  // Held out: no node sends it a tunnel again while it answers 503 (the passive ejection alone would end after base-ejection).
  const tOut = tFail + activeMs + SLACK_MS
  const late = clients.filter((r) => r.t > tOut).length
  d.expect(`tunnels to ${VICTIM} from ${ms(activeMs + SLACK_MS)} ms to ${HELD_OUT_MS} ms after the switch`, late, '0 (the failed connect check holds it out)', late === 0)

  const conns = loads.flatMap(({ s }) => s.of('conn'))
  const meanwhile = tally(conns.filter((c) => Number(c.t0) >= tFail && Number(c.t0) <= tFail + slowest))
  d.report(`client tunnels failed meanwhile (switch to the last node's stop, ${ms(slowest)} ms)`, `${meanwhile.failed}/${meanwhile.ok + meanwhile.failed} (${Math.round((1000 * meanwhile.failed) / Math.max(1, meanwhile.ok + meanwhile.failed)) / 10} %)`)
  const other = conns.filter((c) => !c.ok && !(c.status === 503 && c.be === VICTIM))
  d.expect(`failed tunnels other than ${VICTIM}'s 503s (whole run)`, other.length, '0', other.length === 0)
  if (other.length) d.data.otherFailures = other.slice(0, 10)
  const afterStop = conns.filter((c) => !c.ok && Number(c.t0) > tFail + slowest + SLACK_MS).length
  d.expect('failed tunnels started after every node stopped (+ slack)', afterStop, '0', afterStop === 0)
  const seen503 = conns.filter((c) => c.status === 503).length
  d.report(`503s: clients saw / ${VICTIM} logged for clients`, `${seen503} / ${clients.length}`)

  // Back: 503s stop; the connect check passes rise times and every node sends it tunnels again.
  const tOk = Number(await d.sh(VICTIM, `rm -f ${FAIL_FILE}; date +%s%3N`))
  d.mark(`${VICTIM} answers CONNECT again`, tOk)
  const back = await until(`every node sending ${VICTIM} tunnels again`, async () => {
    const r = (await received(d, VICTIM, tOk)).filter((x) => x.target !== check && x.status === 200)
    const first = new Map<string, number>()
    for (const x of r) if (!first.has(x.node)) first.set(x.node, x.t)
    return nodes.every((n) => first.has(n)) && first
  }, { deadlineMs: 25_000, intervalMs: 500 })
  const lastBack = Math.max(...back.value.values())
  d.data.back = Object.fromEntries([...back.value].map(([n, t]) => [n, ms(t - tOk)]))
  d.report(`${VICTIM} answers again -> every node sends it tunnels (rise ${tu.health.rise}; ejections end)`, ms(lastBack - tOk), 'ms')
  for (const { s } of loads) await s.stop()
  d.conns.push(...conns)
})
