// Resilient nexthop group for the anycast VIP; runs INSIDE the router container:
//   node /l4lb/lab/tools/nhg.ts --vip IP [--buckets 128 --idle 60 --unbalanced 0] [--daemon]
// The router runs it by default (svc.sh "nhg", --daemon, settings from lab.yaml `ecmp`); drill 6
// stops it to compare with BIRD's plain multipath route.
// BIRD 2.0 installs the VIP as a plain multipath route (hash-threshold: a change
// in the nexthop set remaps flows of the nodes that stayed). This mirrors BIRD's
// nexthop set into a Linux resilient nexthop group (`ip nexthop ... type resilient`)
// and installs the VIP through it at metric 1, ahead of BIRD's metric 32. Membership
// follows BIRD (driven by `ip monitor route`); a busy bucket keeps its nexthop until
// it has been idle --idle seconds, so established flows stay where they are.
// Prints {ev:"nhg", t, members} on each change. On "stop"/EOF (or after 10 min), or with
// --daemon on SIGTERM only, it removes its route and nexthops, leaving BIRD's route in charge.
import { spawn, execFileSync } from 'node:child_process'
import { parseArgs } from 'node:util'
import { wallMs } from '../node/wallclock.ts'

const { values: a } = parseArgs({ options: {
  vip: { type: 'string' }, buckets: { type: 'string', default: '128' }, idle: { type: 'string', default: '60' }, unbalanced: { type: 'string', default: '0' },
  daemon: { type: 'boolean', default: false },
} })
const vip = a.vip as string
const GROUP = 9000
const nhId = (gw: string) => 9000 + Number(gw.split('.')[3]) // one id per lb node, stable across changes
function now(): number { return Math.round(wallMs() * 1000) / 1000 }
const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
const quiet = (...args: string[]) => { try { ip(...args) } catch { /* already gone */ } }

interface R { protocol?: string; gateway?: string; dev?: string; nexthops?: Array<{ gateway: string; dev: string }> }
function birdNexthops(): Array<{ gateway: string; dev: string }> {
  const r = (JSON.parse(ip('-j', 'route', 'show', `${vip}/32`, 'proto', 'bird') || '[]') as R[])[0]
  if (!r) return []
  return r.nexthops ?? (r.gateway && r.dev ? [{ gateway: r.gateway, dev: r.dev }] : [])
}

let last = ''
function sync(): void {
  const nhs = birdNexthops().sort((x, y) => x.gateway.localeCompare(y.gateway))
  const key = nhs.map((n) => n.gateway).join(',')
  if (key === last) return
  last = key
  if (nhs.length === 0) {
    quiet('route', 'del', `${vip}/32`, 'metric', '1')
    quiet('nexthop', 'del', 'id', String(GROUP))
  } else {
    for (const n of nhs) ip('nexthop', 'replace', 'id', String(nhId(n.gateway)), 'via', n.gateway, 'dev', n.dev)
    ip('nexthop', 'replace', 'id', String(GROUP), 'group', nhs.map((n) => nhId(n.gateway)).join('/'), 'type', 'resilient',
      'buckets', a.buckets as string, 'idle_timer', a.idle as string, 'unbalanced_timer', a.unbalanced as string)
    ip('route', 'replace', `${vip}/32`, 'nhid', String(GROUP), 'metric', '1', 'proto', 'static')
  }
  process.stdout.write(JSON.stringify({ ev: 'nhg', t: now(), members: nhs.map((n) => n.gateway) }) + '\n')
}

function cleanup(): void {
  quiet('route', 'del', `${vip}/32`, 'metric', '1')
  quiet('nexthop', 'del', 'id', String(GROUP))
  for (const n of JSON.parse(ip('-j', 'nexthop', 'show') || '[]') as Array<{ id: number }>) {
    if (n.id > GROUP && n.id < GROUP + 256) quiet('nexthop', 'del', 'id', String(n.id))
  }
}

cleanup()
const mon = spawn('ip', ['monitor', 'route'], { stdio: ['ignore', 'pipe', 'inherit'] })
let queued = false
mon.stdout.on('data', () => { if (!queued) { queued = true; setImmediate(() => { queued = false; sync() }) } })
sync()
process.stdout.write(JSON.stringify({ ev: 'ready', t: now() }) + '\n')
const end = () => { mon.kill(); cleanup(); process.stdout.write(JSON.stringify({ ev: 'done', t: now() }) + '\n'); process.exit(0) }
process.on('SIGTERM', end)
if (!a.daemon) {
  process.stdin.on('data', (d) => { if (d.toString().includes('stop')) end() })
  process.stdin.on('end', end)
  setTimeout(end, 600_000)
}
