// Drill 4, backend-down: SIGKILL the responder on be2 under 200 new connections/s.
// Measures, on every balancer node (lb1..3, ka1..2, from the health agents' record
// of GET /status), the time until be2 leaves the ready state: after that the node
// sends it no new flows. Target: <= fall x interval + timeout of l4lb's health check.
// Also: failed client connections (l4lb retries elsewhere, so expect none), the share
// of client addresses that moved (optimal: the share be2 had, about 1/N) and that
// every other client kept its backend. Then restarts be2 and checks the mapping returns.
import { drill, tally, unexplained, ms } from './lib/harness.ts'
import { moreConns, connsAfter, agentEvents, mapping, sameMap } from './lib/scenario.ts'
import { svc, lbNames, kaNames } from '../scripts/lib/labctl.ts'
import { until } from '../scripts/lib/poll.ts'
import { byRole } from '../scripts/lib/data.ts'

const VICTIM = process.env.LAB_VICTIM ?? 'be2'
const dur = (s: string) => (s.endsWith('ms') ? Number(s.slice(0, -2)) : s.endsWith('s') ? Number(s.slice(0, -1)) * 1000 : Number(s))

/** Per node: time of the first agent event after t showing VICTIM in state matching re; undefined if none yet. */
async function stateTimes(d: Parameters<Parameters<typeof drill>[1]>[0], nodes: string[], after: number, re: RegExp): Promise<Map<string, number>> {
  const m = new Map<string, number>()
  await Promise.all(nodes.map(async (n) => {
    const ev = (await agentEvents(d, n, after)).find((e) => e.ev === 'backend' && e.id === VICTIM && re.test(String(e.state)))
    if (ev) m.set(n, Number(ev.t))
  }))
  return m
}

await drill('04-backend-down', async (d) => {
  const h = d.lab.l4lb.health
  const budget = h.fall * dur(h.interval) + dur(h.timeout)
  const nodes = [...lbNames(d.lab), ...kaNames(d.lab)]
  const vip = d.lab.vips.anycast
  const before = await mapping(d, vip)
  const onVictim = [...before.map.values()].filter((b) => b === VICTIM).length
  const steady = d.load('steady', vip, { rate: 200, timeout: 1000, duration: 60_000 })
  await steady.waitFor('steady load', (e) => e.ev === 'ready', 10_000)
  await moreConns(steady, 200)

  let restarted = false
  d.cleanup(`restart responder on ${VICTIM}`, async () => { if (!restarted) await svc(d.lab, VICTIM, 'start', 'responder') })
  const tKill = await svc(d.lab, VICTIM, 'kill', 'responder')
  d.mark(`kill ${VICTIM}`, tKill)
  const down = (await until(`every balancer node to mark ${VICTIM} down`, async () => {
    const m = await stateTimes(d, nodes, tKill, /^(?!ready)/)
    return m.size === nodes.length ? m : false
  }, { deadlineMs: 15_000, intervalMs: 200 })).value
  const tAll = Math.max(...down.values())
  d.mark(`${VICTIM} down everywhere`, tAll)
  await connsAfter(steady, tAll + 500, 50)
  const after = await mapping(d, vip)

  const tStart = await svc(d.lab, VICTIM, 'start', 'responder')
  restarted = true
  d.mark(`restart ${VICTIM}`, tStart)
  const up = (await until(`every balancer node to mark ${VICTIM} ready`, async () => {
    const m = await stateTimes(d, nodes, tStart, /^ready/)
    return m.size === nodes.length ? m : false
  }, { deadlineMs: 15_000, intervalMs: 200 })).value
  const tUp = Math.max(...up.values())
  d.mark(`${VICTIM} ready everywhere`, tUp)
  await connsAfter(steady, tUp + 200, 50)
  await steady.stop()
  const conns = steady.of('conn')
  d.conns.push(...conns)
  const restored = await mapping(d, vip)

  for (const n of nodes) d.report(`${n}: ${VICTIM} marked down after`, ms((down.get(n) ?? NaN) - tKill), 'ms')
  d.expect(`no new flows to ${VICTIM} (all nodes) after`, ms(tAll - tKill), `<= ${budget} ms (fall x interval + timeout)`, tAll - tKill <= budget, 'ms')
  // Only a connection already talking to be2 when it died may fail; a new one is retried elsewhere.
  const t = tally(conns)
  const inflight = tally(conns, tKill, tKill + 1)
  const other = unexplained(conns, [[tKill, tKill + 1]])
  d.report(`failed connections in flight on ${VICTIM} at the kill`, `${inflight.failed}/${inflight.ok + inflight.failed}`)
  d.expect('other failed client connections (l4lb retries elsewhere)', `${other}/${t.ok + t.failed}`, '0', other === 0)
  const moved = [...before.map].filter(([s, b]) => after.map.get(s) !== b)
  const movedOthers = moved.filter(([, b]) => b !== VICTIM).length
  d.report('client addresses that moved', `${moved.length}/${before.map.size} (${(100 * moved.length / before.map.size).toFixed(1)} %)`)
  d.report(`optimal: the share on ${VICTIM} (1/N = ${(100 / byRole(d.lab, 'backend').length).toFixed(0)} % on average)`, `${onVictim}/${before.map.size}`)
  d.expect(`clients of ${VICTIM} that moved`, `${moved.length - movedOthers}/${onVictim}`, 'all', moved.length - movedOthers === onVictim)
  d.expect('other clients that kept their backend', `${before.map.size - onVictim - movedOthers}/${before.map.size - onVictim}`, 'all', movedOthers === 0)
  d.expect('stickiness while down and after', before.sticky && after.sticky && restored.sticky ? '100 %' : 'broken', '100 %', before.sticky && after.sticky && restored.sticky)
  d.expect(`mapping restored once ${VICTIM} is back`, `${sameMap(before.map, restored.map)}/${before.map.size}`, 'all', sameMap(before.map, restored.map) === before.map.size)
  d.report(`${VICTIM} ready again everywhere after restart`, ms(tUp - tStart), 'ms')
  d.data.down = Object.fromEntries([...down].map(([n, t]) => [n, ms(t - tKill)]))
})
