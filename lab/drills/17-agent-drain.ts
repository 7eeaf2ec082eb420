// Drill 17, agent-drain (issue 14): the agent on be2 (lab/node/responder.ts --agent-port,
// HAProxy's agent-check protocol) starts answering "drain". Every node polls the agent
// (l4lb.agent.interval) and takes be2 out of new flows; established connections to it go on.
// Under 200 new connections/s on the anycast VIP with 120 long-lived connections open:
// measures, per node, when its health agent (polling /status every 100 ms) first saw be2 draining
// (bound: one agent interval + its timeout + the lab agent's 100 ms poll + slack), that no
// new connection reached be2 after every node had it draining, and that none of the held
// connections on be2 was lost. Then the agent says "ready" again and every node takes be2 back.
import { drill, tally, ms, bound, CONN_TIMEOUT_MS } from './lib/harness.ts'
import { moreConns, connsAfter } from './lib/scenario.ts'
import { fleetNodes, stateSeen } from './lib/fleet.ts'

const VICTIM = process.env.LAB_VICTIM ?? 'be2'
const REPLY = '/run/lab/agent-reply'
const dur = (s: string) => (s.endsWith('ms') ? Number(s.slice(0, -2)) : s.endsWith('s') ? Number(s.slice(0, -1)) * 1000 : Number(s))

await drill('17-agent-drain', async (d) => {
  const nodes = fleetNodes(d.lab)
  const ag = d.lab.l4lb.agent
  const vip = d.lab.vips.anycast
  const hold = d.load('hold', vip, { count: 120, ping: 100, timeout: CONN_TIMEOUT_MS, duration: 40_000 })
  await hold.waitFor('long-lived connections open', (e) => e.ev === 'ready', 20_000)
  const heldOnVictim = hold.of('held').filter((e) => e.be === VICTIM).length
  const steady = d.load('steady', vip, { rate: 200, timeout: CONN_TIMEOUT_MS, duration: 30_000 })
  await steady.waitFor('steady load', (e) => e.ev === 'ready', 10_000)
  await moreConns(steady, 200)

  d.cleanup(`agent on ${VICTIM} says ready again`, async () => { await d.sh(VICTIM, `rm -f ${REPLY}`) })
  // The moment the reply changed, by the container's clock (one kernel clock for all), not
  // when docker exec was started or returned.
  const tDrain = Number(await d.sh(VICTIM, `echo 'drain # drill 17' > ${REPLY}; date +%s%3N`))
  d.mark(`agent on ${VICTIM} answers drain`, tDrain)
  const seen = await stateSeen(d, nodes, tDrain, VICTIM, 'drain')
  for (const [n, t] of seen) d.mark(`${n} drains ${VICTIM}`, t)
  const last = Math.max(...seen.values())
  d.data.drained = Object.fromEntries([...seen].map(([n, t]) => [n, ms(t - tDrain)]))
  const b = bound(dur(ag.interval) + dur(ag.timeout) + d.lab.timers.agent.intervalMs, 'agent interval + its timeout + the lab agent poll')
  d.expect(`agent says drain -> every node drains ${VICTIM} (slowest)`, ms(last - tDrain), b.target, b.ok(last - tDrain), 'ms')

  await connsAfter(steady, last + 3000, 300)
  await steady.stop()
  const after = steady.of('conn').filter((c) => Number(c.t0) > last)
  const toVictim = after.filter((c) => c.be === VICTIM).length
  d.expect(`new connections to ${VICTIM} after every node drained it`, `${toVictim}/${after.length}`, '0', toVictim === 0 && after.length > 0)
  const t = tally(steady.of('conn'))
  d.expect('failed new connections', `${t.failed}/${t.ok + t.failed}`, '0', t.failed === 0)
  const lost = hold.of('lost').filter((e) => e.be === VICTIM).length
  d.expect(`established connections on ${VICTIM} lost while it drained`, `${lost}/${heldOnVictim}`, `0 (of ${heldOnVictim} held)`, lost === 0 && heldOnVictim > 0)

  const tReady = Number(await d.sh(VICTIM, `rm -f ${REPLY}; date +%s%3N`))
  d.mark(`agent on ${VICTIM} answers ready`, tReady)
  const back = await stateSeen(d, nodes, tReady, VICTIM, 'ready')
  d.report(`agent says ready -> every node takes ${VICTIM} back`, ms(Math.max(...back.values()) - tReady), 'ms')
  await hold.stop()
})
