// Drill 10, lb-stall: a pause of l4lb that only delays answers must not move a route or a VIP;
// a pause that lasts must, once (issue 10, kind 3: hysteresis in the health gates). Under load
// on both VIPs (steady new connections and long-lived pinged ones):
//  A. five brief stalls of l4lb (SIGSTOP / SIGCONT of its process group, 0.4 s each, 0.6 s
//     apart) at once on lb2 (anycast) and on ka1 (the VRRP master): expect 0 route changes,
//     0 VRRP transitions, 0 held connections reset, 0 failed new connections.
//  B. one long stall (3 s) on both: expect exactly one withdrawal of lb2 and one VRRP takeover
//     by ka2, each within the hold-down bound (down-after + 2 x (agent interval + timeout)
//     + slack), and each node back once (after up-after, once it has been healthy that long).
import { drill, tally, unexplained, ms, bound, CONN_TIMEOUT_MS, type Drill } from './lib/harness.ts'
import { hasNode, connsAfter, moreConns, survivorLoss } from './lib/scenario.ts'
import type { Stream } from './lib/stream.ts'
import { vrrpHolder } from '../scripts/lib/labctl.ts'
import { until } from '../scripts/lib/poll.ts'
import { byRole } from '../scripts/lib/data.ts'

const LB = process.env.LAB_VICTIM ?? 'lb2'
const BRIEF = { count: 5, stallS: 0.4, gapS: 0.6 }
const LONG_S = 3

/** Shell that stalls l4lb's process group: prints the epoch before each SIGSTOP and SIGCONT. */
function stallScript(count: number, stallS: number, gapS: number): string {
  return `pg=$(cat /run/lab/l4lb.pid); for i in $(seq 1 ${count}); do echo "stop $(date +%s.%N)"; kill -STOP -$pg; ` +
    `sleep ${stallS}; echo "cont $(date +%s.%N)"; kill -CONT -$pg; [ $i -lt ${count} ] && sleep ${gapS}; done; true`
}
function times(out: string, what: 'stop' | 'cont'): number[] {
  return out.split('\n').filter((l) => l.startsWith(what + ' ')).map((l) => Number(l.split(' ')[1]) * 1000)
}

/** VRRP transitions ("<epoch> INSTANCE vip STATE") of the ka nodes within [from, to). */
async function vrrpMoves(d: Drill, from: number, to: number): Promise<Array<{ node: string; t: number; state: string }>> {
  const out: Array<{ node: string; t: number; state: string }> = []
  for (const k of byRole(d.lab, 'ka')) {
    const log = await d.sh(k.name, 'cat /run/lab/vrrp.log 2>/dev/null || true')
    for (const l of log.split('\n')) {
      const f = l.split(' ')
      const t = Number(f[0]) * 1000
      if (f[2] === 'vip' && t >= from && t < to) out.push({ node: k.name, t, state: f[3] })
    }
  }
  return out.sort((x, y) => x.t - y.t)
}

/** Route changes in [from, to) that dropped the node (it was present before, absent after). */
function drops(d: Drill, watch: Stream, from: number, to: number): number[] {
  const has = hasNode(d, LB)
  const evs = watch.of('route')
  const out: number[] = []
  for (let i = 1; i < evs.length; i++) {
    const t = Number(evs[i].t)
    if (t >= from && t < to && has(evs[i - 1].active as string[]) && !has(evs[i].active as string[])) out.push(t)
  }
  return out
}

await drill('10-lb-stall', async (d) => {
  const [ka, kaBackup] = [...byRole(d.lab, 'ka')].sort((x, y) => (y.vrrpPriority ?? 0) - (x.vrrpPriority ?? 0)).map((n) => n.name)
  if ((await vrrpHolder(d.lab)) !== ka) throw new Error(`${ka} does not hold the VRRP VIP`)
  const { anycast, vrrp } = d.lab.vips
  const watch = d.routeWatch()
  await watch.waitFor('route watcher', (e) => e.ev === 'ready', 10_000)
  const holdA = d.load('hold', anycast, { count: 100, ping: 100, timeout: CONN_TIMEOUT_MS, duration: 110_000 })
  const holdV = d.load('hold', vrrp, { count: 60, ping: 100, timeout: CONN_TIMEOUT_MS, duration: 110_000 })
  await holdA.waitFor('long-lived connections (anycast)', (e) => e.ev === 'ready', 20_000)
  await holdV.waitFor('long-lived connections (VRRP)', (e) => e.ev === 'ready', 20_000)
  const steadyA = d.load('steady', anycast, { rate: 150, timeout: CONN_TIMEOUT_MS, duration: 110_000 })
  const steadyV = d.load('steady', vrrp, { rate: 100, timeout: CONN_TIMEOUT_MS, duration: 110_000 })
  await steadyA.waitFor('steady load (anycast)', (e) => e.ev === 'ready', 10_000)
  await steadyV.waitFor('steady load (VRRP)', (e) => e.ev === 'ready', 10_000)
  await moreConns(steadyA, 150)
  const thaw = 'kill -CONT -$(cat /run/lab/l4lb.pid) 2>/dev/null; true'
  d.cleanup(`thaw l4lb on ${LB} and ${ka}`, async () => { await d.sh(LB, thaw); await d.sh(ka, thaw) })

  // A. brief stalls
  const [outLb, outKa] = await Promise.all([d.sh(LB, stallScript(BRIEF.count, BRIEF.stallS, BRIEF.gapS)), d.sh(ka, stallScript(BRIEF.count, BRIEF.stallS, BRIEF.gapS))])
  const tA = Math.min(times(outLb, 'stop')[0], times(outKa, 'stop')[0])
  const tAend = Math.max(...times(outLb, 'cont'), ...times(outKa, 'cont'))
  for (const t of times(outLb, 'stop')) d.mark(`stall ${LB}`, t)
  for (const t of times(outKa, 'stop')) d.mark(`stall ${ka}`, t)
  await connsAfter(steadyA, tAend + 3000, 30)
  await connsAfter(steadyV, tAend + 3000, 20)
  const tA1 = Math.max(tAend + 3000, Number(steadyA.of('conn').at(-1)?.t0 ?? 0))
  const movesA = await vrrpMoves(d, tA, tA1)
  const dropsA = drops(d, watch, tA, tA1)

  // B. one long stall
  const [outLbB, outKaB] = await Promise.all([d.sh(LB, stallScript(1, LONG_S, 0)), d.sh(ka, stallScript(1, LONG_S, 0))])
  const tBlb = times(outLbB, 'stop')[0]
  const tBka = times(outKaB, 'stop')[0]
  const tThawLb = times(outLbB, 'cont')[0]
  const tThawKa = times(outKaB, 'cont')[0]
  d.mark(`long stall ${LB}`, tBlb)
  d.mark(`long stall ${ka}`, tBka)
  d.mark('thaw', Math.max(tThawLb, tThawKa))
  await watch.waitFor(`${LB} re-added`, (e) => e.ev === 'route' && Number(e.t) > tThawLb && hasNode(d, LB)(e.active as string[]), 30_000)
  await until(`${ka} MASTER again`, async () => (await vrrpHolder(d.lab)) === ka, { deadlineMs: 30_000, intervalMs: 200 })
  const tB1 = Math.max(tThawLb, tThawKa) + 1000
  await connsAfter(steadyA, tB1 + 2000, 30)
  await connsAfter(steadyV, tB1 + 2000, 20)
  const tEnd = Math.max(tB1 + 2000, Number(steadyA.of('conn').at(-1)?.t0 ?? 0))
  for (const s of [steadyA, steadyV, holdA, holdV, watch]) await s.stop()
  const movesB = await vrrpMoves(d, tBlb - 100, tEnd)
  const dropsB = drops(d, watch, tBlb, tEnd)
  const addsB = watch.of('route').filter((e) => Number(e.t) > tThawLb && Number(e.t) < tEnd && hasNode(d, LB)(e.active as string[]))
  const connsA = steadyA.of('conn')
  const connsV = steadyV.of('conn')
  d.conns.push(...connsA, ...connsV)
  const lostIn = (h: Stream, from: number, to: number) => h.of('lost').filter((e) => Number(e.t) >= from && Number(e.t) < to).length

  d.expect(`A: ${LB} brief stalls: router dropped ${LB}`, dropsA.length, '0 times', dropsA.length === 0)
  d.expect(`A: ${ka} brief stalls: VRRP transitions`, movesA.length ? movesA.map((m) => `${m.node}:${m.state}`).join(' ') : 0, '0', movesA.length === 0)
  const lA = lostIn(holdA, tA, tA1)
  const lV = lostIn(holdV, tA, tA1)
  d.expect('A: held connections reset (anycast / VRRP)', `${lA}/${holdA.of('held').length} / ${lV}/${holdV.of('held').length}`, '0 / 0', lA === 0 && lV === 0)
  const fA = tally(connsA, tA, tA1)
  const fV = tally(connsV, tA, tA1)
  d.expect('A: failed new connections (anycast / VRRP)', `${fA.failed}/${fA.ok + fA.failed} / ${fV.failed}/${fV.ok + fV.failed}`, '0 / 0', fA.failed === 0 && fV.failed === 0)

  const ag = d.lab.timers.agent
  const b = bound(ag.downAfterMs + 2 * (ag.intervalMs + ag.timeoutMs), 'down-after + 2 x (agent interval + timeout)')
  const tGone = dropsB[0] ?? NaN
  if (dropsB.length) d.mark(`${LB} withdrawn`, tGone)
  d.expect(`B: ${LONG_S} s stall of ${LB} -> withdrawn`, ms(tGone - tBlb), b.target, b.ok(tGone - tBlb), 'ms')
  d.expect(`B: withdrawals of ${LB}`, dropsB.length, 'exactly 1', dropsB.length === 1)
  const take = movesB.find((m) => m.node === kaBackup && m.state === 'MASTER')
  if (take) d.mark(`${kaBackup} MASTER`, take.t)
  d.expect(`B: ${LONG_S} s stall of ${ka} -> ${kaBackup} MASTER`, take ? ms(take.t - tBka) : 'never', b.target, !!take && b.ok(take.t - tBka), 'ms')
  const takeovers = movesB.filter((m) => m.node === kaBackup && m.state === 'MASTER').length
  const kaBack = movesB.filter((m) => m.node === ka && m.state === 'MASTER').length
  d.expect(`B: VRRP takeovers by ${kaBackup} / ${ka} MASTER again`, `${takeovers} / ${kaBack}`, '1 / 1', takeovers === 1 && kaBack === 1)
  const back = addsB[0] ? Number(addsB[0].t) : NaN
  d.report(`B: ${LB} thaw -> re-added (up-after ${ag.upAfterMs} ms)`, ms(back - tThawLb), 'ms')
  const backKa = movesB.find((m) => m.node === ka && m.state === 'MASTER')
  d.report(`B: ${ka} thaw -> MASTER again`, backKa ? ms(backKa.t - tThawKa) : 'never', 'ms')
  const fB = tally(connsA, tBlb, tEnd)
  const fBv = tally(connsV, tBka, tEnd)
  d.report('B: failed new connections (anycast / VRRP)', `${fB.failed}/${fB.ok + fB.failed} / ${fBv.failed}/${fBv.ok + fBv.failed}`)
  const other = unexplained(connsA, [[tBlb, tEnd]]) + unexplained(connsV, [[tBka, tEnd]])
  d.expect('failed new connections outside the long stall', other, '0', other === 0)
  survivorLoss(d, holdA, [LB], tBlb, tEnd, 'B: ')
  d.data.window = { tA, tAend, tA1, tBlb, tBka, tThawLb, tThawKa, tEnd }
  d.data.moves = { A: movesA, B: movesB }
  d.data.drops = { A: dropsA, B: dropsB }
})
