// Drill 6, lb-join: lb3 is held withdrawn (/run/lab/withdraw), 300 long-lived
// connections are opened through lb1 and lb2, then lb3 joins the anycast set.
// With BIRD's plain multipath route (hash-threshold) the new nexthop moves a share
// of established flows to lb3, which has no state for them: they are reset.
// Then the same with the VIP routed through a Linux resilient nexthop group
// (lab/tools/nhg.ts mirrors BIRD's nexthops into it): busy buckets stay put. The router runs
// that group by default (lab.yaml ecmp.mode resilient): the drill stops it for the plain round
// and starts it again; with ecmp.mode plain it runs its own for the resilient round.
// Reports both reset counts side by side, and the share of NEW connections that
// reach lb3 right after the join (the price of resilience: lb3 fills up slowly).
import { drill, viaNode, ms, type Drill, CONN_TIMEOUT_MS } from './lib/harness.ts'
import { routeEvent, hasNode } from './lib/scenario.ts'
import type { Stream } from './lib/stream.ts'
import { NODE_BIN } from '../scripts/lib/labctl.ts'

const JOINER = process.env.LAB_VICTIM ?? 'lb3'
const HOLD = 300
const PING = 200

async function round(d: Drill, watch: Stream, mode: 'plain' | 'resilient'): Promise<{ resets: number; open: number; newShare: number; joinMs: number }> {
  const kind = mode === 'plain' ? 'multipath' : 'nexthop-group'
  const t0 = Date.now()
  await d.sh(JOINER, 'touch /run/lab/withdraw')
  await routeEvent(watch, `${JOINER} withdrawn (${mode})`, t0 - 60_000, (a) => !hasNode(d, JOINER)(a) && a.length === 2, 10_000)
  await watch.waitFor(`${kind} route`, (e) => e.ev === 'route' && e.kind === kind && (e.active as string[]).length === 2, 10_000)
  const hold = d.load('hold', d.lab.vips.anycast, { count: HOLD, ping: PING, timeout: CONN_TIMEOUT_MS, duration: 60_000 })
  const ready = await hold.waitFor('long-lived connections open', (e) => e.ev === 'ready', 30_000)
  if (Number(ready.open) < HOLD * 0.95) throw new Error(`only ${ready.open}/${HOLD} long-lived connections opened`)
  await hold.waitFor('one ping round', (e) => e.ev === 'tick' && Number(e.t) > Number(ready.t) + PING, 5_000)
  const tJoin0 = Number((await d.sh(JOINER, 'date +%s.%N; rm -f /run/lab/withdraw')).split('\n')[0]) * 1000
  d.mark(`${mode}: ${JOINER} joins`, tJoin0)
  const tJoin = await routeEvent(watch, `${JOINER} announced (${mode})`, tJoin0, hasNode(d, JOINER), 10_000)
  d.mark(`${mode}: nexthop added`, tJoin)
  // Every open connection must have pinged (and been answered, or reset) a few times since the join.
  const atJoin = hold.events.filter((e) => e.ev === 'tick' && Number(e.t) <= tJoin).at(-1)
  const base = Number(atJoin?.pongs ?? 0)
  await hold.waitFor('3 pings per connection after the join', (e) => e.ev === 'tick' && Number(e.t) > tJoin && Number(e.pongs) - base >= 3 * Number(e.alive), 15_000)
  await hold.stop()
  const resets = hold.of('lost').filter((e) => Number(e.t) >= tJoin0).length
  const lostBefore = hold.of('lost').filter((e) => Number(e.t) < tJoin0).length
  if (lostBefore) throw new Error(`${lostBefore} long-lived connections broke before the join`)
  const open = hold.of('held').length
  // Timeline: each long-lived connection as a success when opened, each reset as a failure when it broke.
  d.conns.push(...hold.of('held').map((e) => ({ ...e, ok: true })), ...hold.of('lost').map((e) => ({ ...e, t0: e.t, ok: false })))
  const fresh = await d.burst(d.lab.vips.anycast, 300, 16)
  const toJoiner = fresh.filter((c) => c.ok && viaNode(d.lab, c.peer) === JOINER).length
  return { resets, open, newShare: toJoiner / fresh.length, joinMs: tJoin - tJoin0 }
}

await drill('06-lb-join', async (d) => {
  d.cleanup(`announce ${JOINER}`, async () => { await d.sh(JOINER, 'rm -f /run/lab/withdraw') })
  const daemon = d.lab.ecmp.mode === 'resilient' // the router's own group (svc.sh "nhg")
  if (daemon) {
    d.cleanup('the router\'s resilient group back', async () => { await d.sh('router', '/l4lb/lab/node/svc.sh start nhg >/dev/null') })
    await d.sh('router', '/l4lb/lab/node/svc.sh stop nhg')
  }
  const watch = d.routeWatch()
  await watch.waitFor('route watcher', (e) => e.ev === 'ready', 10_000)
  const plain = await round(d, watch, 'plain')

  let nhg: Stream | undefined
  if (daemon) await d.sh('router', '/l4lb/lab/node/svc.sh start nhg')
  else {
    const s = d.stream('router', [NODE_BIN, '/l4lb/lab/tools/nhg.ts', '--vip', d.lab.vips.anycast])
    nhg = s
    d.cleanup('remove the resilient group', async () => { await s.stop() })
    await s.waitFor('nexthop group', (e) => e.ev === 'ready', 10_000)
  }
  const res = await round(d, watch, 'resilient')
  if (nhg) {
    await nhg.stop()
    await watch.waitFor('BIRD multipath route back', (e) => e.ev === 'route' && e.kind === 'multipath' && (e.active as string[]).length === 3, 10_000)
  }
  await watch.stop()

  const pct = (x: number, n: number) => `${x}/${n} (${(100 * x / Math.max(1, n)).toFixed(1)} %)`
  d.expect('plain ECMP: established connections reset by the join', pct(plain.resets, plain.open), '> 0 (the rehash is real)', plain.resets > 0)
  d.expect('resilient group: established connections reset by the join', pct(res.resets, res.open), '< plain', res.resets < plain.resets)
  d.report(`plain ECMP: new connections to ${JOINER} right after`, (100 * plain.newShare).toFixed(1), '%')
  d.report(`resilient group: new connections to ${JOINER} right after`, (100 * res.newShare).toFixed(1), '%')
  d.report('join -> nexthop installed (plain / resilient)', `${ms(plain.joinMs)} / ${ms(res.joinMs)}`, 'ms')
  d.data.plain = plain
  d.data.resilient = res
})
