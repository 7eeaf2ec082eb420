// Drill 15, config-push (issue 13): change the fleet's backend set in one place.
//  A. `l4lb fleet push` of the pool without be4 (validated, compare-and-swap): time from the
//     command's return until EVERY node serves the new set (its /status lists no be4; polled on all nodes at once),
//     target <= 1 s; then a burst through both VIPs reaches no be4 and loses nothing.
//  B. A bad writer puts an invalid value at the key with etcdctl (l4lb's push would refuse
//     it): every node refuses that revision (its /status names it, with the key and the
//     revision in the errors) and keeps serving the set in force; a burst loses nothing.
//  C. Push the original pool back; every node serves be4 again.
import { drill, tally, ms } from './lib/harness.ts'
import { allStatus, fleetPush, storePutRaw, storeRevision, fleetNodes, firstSeen } from './lib/fleet.ts'
import { until, nowMs } from '../scripts/lib/poll.ts'

const GONE = process.env.LAB_VICTIM ?? 'be4'
const TARGET_MS = 1000
const ORIGINAL = '/etc/lab/l4lb-shared.yaml'
const WITHOUT = `/tmp/l4lb-shared-no-${GONE}.yaml`

await drill('15-config-push', async (d) => {
  const nodes = fleetNodes(d.lab)
  await d.sh('lb1', `grep -v "id: ${GONE}[,} ]" ${ORIGINAL} > ${WITHOUT}; ! grep -q "id: ${GONE}[,} ]" ${WITHOUT}`)
  d.cleanup('push the original pool back', async () => { await fleetPush(d, ORIGINAL).catch(() => undefined) })

  // A. a new backend set
  // The write lands between the command's start and its return (the CLI itself, a Node start
  // inside the container, takes most of that): latency is measured from its return.
  const tStart = nowMs()
  const out = await fleetPush(d, WITHOUT)
  const tPush = nowMs()
  d.mark(`push without ${GONE} returned`, tPush)
  d.report('fleet push', out.trim())
  d.report('fleet push command (docker exec, CLI start, validation, compare-and-swap)', ms(tPush - tStart), 'ms')
  // When each node's health agent (polling its /status every 100 ms) first saw the new set.
  const seen = await firstSeen(d, nodes, tPush, `every node serving the set without ${GONE}`, (s) => s.states[GONE] === undefined && Object.keys(s.states).length > 0)
  const last = Math.max(...seen.values())
  for (const [n, t] of seen) d.mark(`${n} serves it`, t)
  d.data.served = Object.fromEntries([...seen].map(([n, t]) => [n, ms(t - tPush)]))
  d.expect(`push returned -> every node serves the new set (${nodes.length} nodes; agents poll every 100 ms)`, ms(last - tPush), `<= ${TARGET_MS} ms`, last - tPush <= TARGET_MS, 'ms')
  for (const vip of [d.lab.vips.anycast, d.lab.vips.vrrp]) {
    const conns = await d.burst(vip, 200)
    const t = tally(conns)
    const toGone = conns.filter((c) => c.be === GONE).length
    d.expect(`${vip}: burst after the push (failed / reached ${GONE})`, `${t.failed} / ${toGone}`, '0 / 0', t.failed === 0 && toGone === 0)
  }

  // B. an invalid value written behind l4lb's back
  await storePutRaw(d, 'pools:\n  - name: proxies\n    policy: nonsense\n    backends: []\n')
  const bad = await storeRevision(d)
  const tBad = nowMs()
  d.mark(`invalid value at revision ${bad}`, tBad)
  const refused = await until(`every node refusing revision ${bad}`, async () => {
    const s = await allStatus(d)
    return [...s.values()].every((x) => x.fleet.config.lastRejected?.revision === bad) && s
  }, { deadlineMs: 10_000, intervalMs: 50 })
  d.report('invalid value -> refused by every node', ms(refused.elapsedMs), 'ms')
  const sample = refused.value.get('lb1')!.fleet.config.lastRejected!.errors[0] ?? ''
  d.expect('the refusal names the key and the revision', sample.slice(0, 120), `${d.lab.l4lb.fleet.prefix}/config, revision ${bad}`, sample.includes(`${d.lab.l4lb.fleet.prefix}/config`) && sample.includes(String(bad)))
  const still = [...refused.value.values()].every((x) => x.backends.length === 3 && !x.backends.includes(GONE))
  d.expect('every node still serves the set in force', still ? 'yes' : 'no', 'yes', still)
  const conns = await d.burst(d.lab.vips.anycast, 200)
  d.expect('burst with the invalid value in the store (failed)', tally(conns).failed, '0', tally(conns).failed === 0)

  // C. back to the original
  await fleetPush(d, ORIGINAL)
  const tBack = nowMs()
  d.mark('push of the original pool returned', tBack)
  const back = await firstSeen(d, nodes, tBack, `every node serving ${GONE} again`, (s) => s.states[GONE] !== undefined)
  d.report(`push returned -> every node serves ${GONE} again`, ms(Math.max(...back.values()) - tBack), 'ms')
})
