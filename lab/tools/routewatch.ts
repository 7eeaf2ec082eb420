// Route watcher; runs INSIDE the router container:
//   node /l4lb/lab/tools/routewatch.ts --vip IP
// Prints {ev:"route", t, bird:[gw...], active:[gw...], kind} whenever the set of
// nexthops for the VIP changes: "bird" from BIRD's route, "active" from the route
// the kernel actually uses (the lowest metric, e.g. a resilient nexthop group).
// Driven by `ip monitor route` (no polling); stops on "stop" or EOF on stdin, or after 10 min.
import { spawn, execFileSync } from 'node:child_process'
import { parseArgs } from 'node:util'
import { gwsFrom, type Route, type Nh } from './routes.ts'
import { wallMs } from '../node/wallclock.ts'

const { values: a } = parseArgs({ options: { vip: { type: 'string' } } })
const vip = a.vip as string
function now(): number { return Math.round(wallMs() * 1000) / 1000 }

export function snapshot(): { bird: string[]; active: string[]; kind: string } {
  const routes = JSON.parse(execFileSync('ip', ['-j', 'route', 'show', `${vip}/32`], { encoding: 'utf8' }) || '[]') as Route[]
  const needNh = routes.some((r) => r.nhid !== undefined)
  const nhs = needNh ? JSON.parse(execFileSync('ip', ['-j', 'nexthop', 'show'], { encoding: 'utf8' }) || '[]') as Nh[] : []
  return gwsFrom(routes, nhs)
}

let last = ''
let queued = false
function check(): void {
  queued = false
  const t = now()
  const s = snapshot()
  const key = JSON.stringify(s)
  if (key !== last) { last = key; process.stdout.write(JSON.stringify({ ev: 'route', t, ...s }) + '\n') }
}

const mon = spawn('ip', ['monitor', 'route'], { stdio: ['ignore', 'pipe', 'inherit'] })
mon.stdout.on('data', () => { if (!queued) { queued = true; setImmediate(check) } })
check()
process.stdout.write(JSON.stringify({ ev: 'ready', t: now() }) + '\n')
const end = () => { mon.kill(); process.exit(0) }
process.stdin.on('data', (d) => { if (d.toString().includes('stop')) end() })
process.stdin.on('end', end)
setTimeout(end, 600_000)
