// Drill 11, split-brain: VRRP adverts are dropped both ways between ka1 and ka2 for ~3 s (each
// node drops inbound VRRP: a policy rule `ipproto 112 blackhole` ahead of the local table; the
// image has no iptables/nft and the kernel no tc actions), so both become MASTER; then the cut
// heals one side at a time, in both orders, under 150 new connections/s to the VRRP VIP
// (issue 10, kind 4):
//  A. ka2's side first: ka2 hears the higher priority and returns to BACKUP. ka1 was MASTER all
//     along and sends no gratuitous ARP of its own accord, so the router keeps ka2's MAC for the
//     VIP; a node that does not forward (ip_forward=0, like any balancer host) then drops it all.
//     The master's periodic gratuitous ARP (vrrp_garp_master_refresh) bounds that.
//  B. ka1's side first: ka1 hears a lower priority and answers with its own advert and gratuitous
//     ARP; then ka2's side, and ka2 returns to BACKUP.
// Expect in both: no failed connection later than the heal + the refresh interval + slack, and
// the router's ARP entry for the VIP on ka1's MAC by then. Also checks that no lab node but the
// router forwards (the lab once inherited the host's ip_forward=1, which hid this fault).
import { drill, tally, unexplained, ms, bound, SLACK_MS, CONN_TIMEOUT_MS, type Drill } from './lib/harness.ts'
import { moreConns, connsAfter } from './lib/scenario.ts'
import { vrrpHolder } from '../scripts/lib/labctl.ts'
import { until, nowMs } from '../scripts/lib/poll.ts'
import { byRole, node } from '../scripts/lib/data.ts'

const SPLIT_MS = 3000
/** keepalived's vrrp_garp_master_refresh (s) in lab/templates/keepalived.conf. */
const GARP_REFRESH_MS = 1000

/** Waits for "<epoch> INSTANCE vip STATE" in a node's vrrp.log after time t; returns its time. */
async function stateAt(d: Drill, name: string, state: string, after: number, deadlineMs: number): Promise<number> {
  return (await until(`${name} to become ${state}`, async () => {
    const log = await d.sh(name, 'cat /run/lab/vrrp.log 2>/dev/null || true')
    const hit = log.split('\n').map((l) => l.split(' ')).find((f) => f[3] === state && Number(f[0]) * 1000 > after)
    return hit ? Number(hit[0]) * 1000 : false
  }, { deadlineMs, intervalMs: 50 })).value
}

/** The router's ARP entry for the VRRP VIP: its MAC, or '' when none. */
async function routerArp(d: Drill): Promise<string> {
  const out = await d.sh('router', `ip -j neigh show to ${d.lab.vips.vrrp}`)
  const n = (JSON.parse(out || '[]') as Array<{ lladdr?: string }>)[0]
  return n?.lladdr ?? ''
}

await drill('11-split-brain', async (d) => {
  const [ka1, ka2] = [...byRole(d.lab, 'ka')].sort((x, y) => (y.vrrpPriority ?? 0) - (x.vrrpPriority ?? 0)).map((n) => n.name)
  if ((await vrrpHolder(d.lab)) !== ka1) throw new Error(`${ka1} does not hold the VRRP VIP`)
  const addr = (n: string) => node(d.lab, n).addrs.ka ?? ''
  const mac = async (n: string) => (await d.sh(n, `ip -o link show dev $(ip -o -4 addr show | awk '$4 ~ /^${addr(n)}\\//{print $2}') | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2`)).trim()
  const mac1 = await mac(ka1)
  const forwarding: string[] = []
  for (const n of d.lab.nodes) {
    if (n.role === 'router') continue
    if ((await d.sh(n.name, 'cat /proc/sys/net/ipv4/ip_forward')).trim() !== '0') forwarding.push(n.name)
  }
  // The local table's rule (pref 0) would deliver first: it moves behind the drop while cut.
  const cut = (n: string) => d.sh(n, 'ip rule add pref 200 lookup local && ip rule del pref 0 && ip rule add pref 100 ipproto 112 blackhole')
  const heal = (n: string) => d.sh(n, 'ip rule del pref 100 2>/dev/null; ip rule show pref 0 | grep -q . || ip rule add pref 0 lookup local; ' +
    'ip rule del pref 200 2>/dev/null; date +%s.%N').then((o) => Number(o.trim().split('\n').pop()) * 1000)
  d.cleanup('heal the VRRP cut', async () => { await heal(ka1); await heal(ka2) })
  const steady = d.load('steady', d.lab.vips.vrrp, { rate: 150, timeout: CONN_TIMEOUT_MS, duration: 110_000 })
  await steady.waitFor('steady load', (e) => e.ev === 'ready', 10_000)
  await moreConns(steady, 150)

  // A gratuitous ARP that arrives within the router's neighbour locktime of the last update is
  // ignored (the old MAC's own refresh may just have landed): the next refresh then wins.
  const rIf = `$(ip -o -4 addr show | awk '$4 ~ /^${node(d.lab, 'router').addrs.ka ?? ''}\\//{print $2}')`
  const lockMs = 10 * Number((await d.sh('router', `cat /proc/sys/net/ipv4/neigh/${rIf}/locktime`)).trim()) // USER_HZ (1/100 s)
  const limit = GARP_REFRESH_MS + lockMs
  const rounds: Array<{ order: string; tCut: number; tSplit: number; tHeal1: number; tBackup: number; tHeal2: number; arpOk: number }> = []
  for (const [order, first, second] of [['A', ka2, ka1], ['B', ka1, ka2]]) {
    const tCut = nowMs()
    await Promise.all([cut(ka1), cut(ka2)])
    d.mark(`${order}: cut`, tCut)
    const tSplit = await stateAt(d, ka2, 'MASTER', tCut, 5_000)
    d.mark(`${order}: ${ka2} MASTER (split)`, tSplit)
    await connsAfter(steady, tCut + SPLIT_MS, 10)
    const tHeal1 = await heal(first)
    d.mark(`${order}: heal ${first}'s side`, tHeal1)
    if (order === 'B') await connsAfter(steady, tHeal1 + 1000, 10)
    const tHeal2 = order === 'B' ? await heal(second) : NaN
    if (order === 'B') d.mark(`${order}: heal ${second}'s side`, tHeal2)
    const tBackup = await stateAt(d, ka2, 'BACKUP', tCut, 10_000)
    d.mark(`${order}: ${ka2} BACKUP`, tBackup)
    // The router's ARP entry must come back to ka1 (polled from here on, every 50 ms; the
    // connections below are the real test).
    const arp = until(`router's ARP for the VIP on ${ka1}`, async () => (await routerArp(d)) === mac1 && nowMs(), { deadlineMs: 60_000, intervalMs: 50 }).then((w) => w.value, () => NaN)
    if (order === 'A') { await connsAfter(steady, tBackup + 500, 10); d.mark(`${order}: heal ${second}'s side`, await heal(second)) }
    const arpOk = await arp
    // At least 3 s of connections after heal + limit + slack: the part where none may fail.
    const tHealed = order === 'A' ? tBackup : Math.max(tHeal2, tBackup)
    await connsAfter(steady, Math.max(tHealed + limit + SLACK_MS + 3000, (arpOk || 0) + 2000), 20)
    rounds.push({ order, tCut, tSplit, tHeal1, tBackup, tHeal2, arpOk })
  }
  await steady.stop()
  const conns = steady.of('conn')
  d.conns.push(...conns)

  d.expect('lab nodes that forward (only the router should)', forwarding.join(', ') || 'none', 'none', forwarding.length === 0)
  const refresh = bound(limit, 'vrrp_garp_master_refresh + router neigh locktime')
  const windows: Array<[number, number]> = []
  for (const r of rounds) {
    // The heal is complete when ka2 is BACKUP (A) or when the second direction is healed (B).
    const tHealed = r.order === 'A' ? r.tBackup : Math.max(r.tHeal2, r.tBackup)
    d.expect(`${r.order}: heal -> router's ARP on ${ka1}`, ms(r.arpOk - tHealed), refresh.target, refresh.ok(r.arpOk - tHealed), 'ms')
    const late = tally(conns, tHealed + limit + SLACK_MS, Infinity)
    const lateFailed = conns.filter((c) => !c.ok && Number(c.t0) >= tHealed + limit + SLACK_MS && Number(c.t0) < (rounds[rounds.indexOf(r) + 1]?.tCut ?? Infinity)).length
    d.expect(`${r.order}: failed connections started later than heal + refresh + slack`, `${lateFailed}/${late.ok + late.failed}`, '0', lateFailed === 0)
    const split = tally(conns, r.tCut, tHealed + limit + SLACK_MS)
    d.report(`${r.order}: failed connections, cut -> heal + refresh + slack`, `${split.failed}/${split.ok + split.failed}`)
    d.report(`${r.order}: cut -> ${ka2} MASTER (split brain)`, ms(r.tSplit - r.tCut), 'ms')
    windows.push([r.tCut, tHealed + limit + SLACK_MS])
  }
  const other = unexplained(conns, windows)
  d.expect('failed connections outside the split windows', other, '0', other === 0)
  d.data.rounds = rounds
})
