// npm run lab:status — BGP sessions and BFD state (router's view), the router's
// nexthops for the anycast VIP, which node holds the VRRP VIP, each l4lb's /healthz
// and whether each lb node currently announces. Exits 1 when the lab is not running.
import { loadLab, byRole, container } from './lib/data.ts'
import { dockerUp, containerRunning, execIn } from './lib/docker.ts'
import { birdProtocols, bfdSessions, vipNexthops, vrrpHolder, healthz, nodeByLbAddr, lbNames, kaNames, BIRD_SOCK } from './lib/labctl.ts'
import { hostRoutesIntoLab } from './lib/host.ts'

const lab = loadLab()
if (!dockerUp() || !containerRunning(container(lab, 'router'))) {
  console.log('lab is not running (npm run lab:up)')
  process.exit(1)
}
const [protos, bfd, nh, holder, health, announce] = await Promise.all([
  birdProtocols(lab, 'router'),
  bfdSessions(lab, 'router'),
  vipNexthops(lab),
  vrrpHolder(lab),
  Promise.all([...lbNames(lab), ...kaNames(lab)].map(async (n) => [n, await healthz(lab, n)] as const)),
  Promise.all(lbNames(lab).map(async (n) => {
    const r = await execIn(container(lab, n), `birdc -s ${BIRD_SOCK} show protocols vip; test -e /run/lab/withdraw && echo HELD`)
    return [n, /\bvip\s+Static\s+\S+\s+up\b/.test(r.stdout) ? 'announcing' : 'withdrawn', r.stdout.includes('HELD') ? ' (held by /run/lab/withdraw)' : ''] as const
  })),
])
console.log(`BGP sessions on the router (AS ${byRole(lab, 'router')[0].asn}):`)
for (const p of protos.filter((p) => p.proto === 'BGP')) {
  const addr = lab.nodes.find((n) => n.name === p.name)?.addrs.lb ?? ''
  const b = bfd.find((s) => s.addr === addr)
  console.log(`  ${p.name.padEnd(5)} ${addr.padEnd(13)} ${p.state.padEnd(6)} ${(p.info || '-').padEnd(12)} BFD ${b ? b.state : 'none'}  since ${p.since}`)
}
console.log(`anycast VIP ${lab.vips.anycast}: ${nh.kind} via ${nh.active.map((a) => `${nodeByLbAddr(lab, a)} (${a})`).join(', ') || 'NO ROUTE'}`)
if (nh.kind === 'nexthop-group') console.log(`  (a resilient nexthop group is in use; BIRD's own route: ${nh.bird.join(', ')})`)
for (const [n, state, held] of announce) console.log(`  ${n} ${state}${held}`)
console.log(`VRRP VIP ${lab.vips.vrrp}: held by ${holder || 'NOBODY'}`)
console.log('l4lb /healthz:')
for (const [n, ok] of health) console.log(`  ${n.padEnd(5)} ${ok ? '200 ok' : 'NOT OK'}`)
const leaks = hostRoutesIntoLab()
console.log(`host routes into the lab: ${leaks.length ? leaks.join('; ') : 'none'}`)
const ok = health.every(([, h]) => h) && nh.active.length === lbNames(lab).length && holder !== '' && !holder.includes(',')
process.exit(ok ? 0 : 1)
