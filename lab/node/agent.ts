// Health agent, one per balancer node (started by svc.sh). On anycast nodes it gates the announcement:
// it polls the local l4lb GET /healthz every --interval ms; after --fall failures
// it disables BIRD's static protocol "vip" (the router withdraws this node's
// nexthop), after --rise successes it enables it again. The state is also written
// to the file BIRD's config includes (--vip-state), so a BIRD reload or restart
// announces what health says. While healthy it renews a lease (--lease) that
// lab/node/gate.sh, a separate process, withdraws on when it goes stale: the
// route cannot outlive this agent. Failed birdc calls are logged and counted; a
// failed "disable" stops the node's BFD daemon and BIRD (fail closed: the router's BFD session
// goes Down and the BGP session with it; with graceful restart a BIRD that merely disappeared
// would leave the route in the router for the restart time). BFD is started again once wanted. A file /run/lab/withdraw
// holds the VIP down regardless (drills use it to drain a node or to add one).
// It also polls GET /status and records backend state changes, and when every worker
// of the node has applied them, so drills can time when this node stopped sending new
// flows to a dead backend and know when all nodes agree (--status-file).
// On VRRP nodes (--announce off --track-file F) it writes 0/1 to F for keepalived's
// track_file instead, which reacts faster than a track_script can (1 s minimum interval).
// Every transition is appended as a JSON line to --events: {t, ev, ...}.
import http from 'node:http'
import { appendFileSync, existsSync, writeFileSync, renameSync, readFileSync } from 'node:fs'
import { execFile } from 'node:child_process'
import { parseArgs } from 'node:util'
import { HoldDown } from './holddown.ts'
import { wallMs } from './wallclock.ts'

const { values: a } = parseArgs({
  options: {
    admin: { type: 'string', default: '127.0.0.1:9090' },
    bird: { type: 'string', default: '/run/lab/bird.ctl' },
    events: { type: 'string', default: '/run/lab/events.jsonl' },
    'withdraw-file': { type: 'string', default: '/run/lab/withdraw' },
    'status-file': { type: 'string', default: '/run/lab/status.json' }, // latest backend states + snapshot versions
    lease: { type: 'string', default: '/run/lab/lease' }, // renewed (epoch ms) on every healthy tick; lab/node/gate.sh withdraws when stale
    'lease-ms': { type: 'string', default: '700' },
    'vip-state': { type: 'string', default: '/run/lab/vip.state.conf' }, // included by BIRD's protocol vip
    interval: { type: 'string', default: '100' },
    timeout: { type: 'string', default: '150' },
    fall: { type: 'string', default: '2' },
    rise: { type: 'string', default: '2' },
    'down-after': { type: 'string', default: '0' }, // ms a failure must last before withdrawal
    'up-after': { type: 'string', default: '0' }, // ms l4lb must stay healthy before re-admission
    announce: { type: 'string', default: 'on' }, // 'off' on VRRP nodes: no BIRD
    'track-file': { type: 'string' }, // VRRP nodes: keepalived track_file, 0 healthy / 1 not
  },
})
const [host, portS] = (a.admin as string).split(':')
const port = Number(portS)
const intervalMs = Number(a.interval)
const timeoutMs = Number(a.timeout)
const fall = Number(a.fall)
const rise = Number(a.rise)
const downAfterMs = Number(a['down-after'])
const upAfterMs = Number(a['up-after'])
const dampener = new HoldDown({ fall, rise, downAfterMs, upAfterMs })

const now = wallMs
function emit(ev: Record<string, unknown>): void {
  const line = JSON.stringify({ t: Math.round(now() * 1000) / 1000, ...ev })
  appendFileSync(a.events as string, line + '\n')
  process.stdout.write(line + '\n')
}

/** GET path on the admin API; resolves { code, body }, code 0 on a transport error or timeout. */
function get(path: string): Promise<{ code: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path, timeout: timeoutMs, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { body += d })
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body }))
      res.on('error', () => resolve({ code: 0, body: '' }))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', () => resolve({ code: 0, body: '' }))
  })
}

let birdcFailures = 0

/** One birdc command (1 s deadline); a failure is logged to stderr, counted and recorded as {ev:"birdc-failed"}. */
function birdc(cmd: string[]): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile('birdc', ['-s', a.bird as string, ...cmd], { timeout: 1000 }, (err, stdout, stderr) => {
      if (err) {
        birdcFailures++
        const why = (String(stderr).trim() || String(stdout).trim() || err.message).split('\n').pop()
        process.stderr.write(`agent: birdc ${cmd.join(' ')} failed (${birdcFailures} so far): ${why}\n`)
        emit({ ev: 'birdc-failed', cmd: cmd.join(' '), error: why, failures: birdcFailures })
      }
      resolve({ ok: !err, out: stdout })
    })
  })
}

function svcSh(action: string, daemon: string): Promise<boolean> {
  return new Promise((resolve) => execFile('/l4lb/lab/node/svc.sh', [action, daemon], { timeout: 15_000 }, (err) => resolve(!err)))
}

/** Whether the daemon svc.sh started as NAME runs (its pidfile names a live, non-zombie process). */
function running(name: string): boolean {
  try {
    const pid = readFileSync(`/run/lab/${name}.pid`, 'utf8').trim()
    return !/^\d+ \(.*\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch { return false }
}

/** Fail closed when BIRD cannot be told to withdraw: stop BFD (the router drops the session at once), then BIRD. */
async function killSwitch(why: string): Promise<void> {
  const bfd = await svcSh('stop', 'bfd')
  emit({ ev: 'withdraw-fallback', how: 'bfd-and-bird-stopped', why, bfd, bird: await svcSh('stop', 'bird') })
}

/** "disabled yes;" / "disabled no;" in the file BIRD's protocol vip includes: a BIRD restart or reload reads what health says. */
function writeVipState(on: boolean): void {
  const f = a['vip-state'] as string
  writeFileSync(`${f}.tmp`, on ? 'disabled no;\n' : 'disabled yes;\n')
  renameSync(`${f}.tmp`, f)
}

/** Backend id -> state, from whatever shape /status has: any object with an id and a state-like field. */
export function backendStates(status: unknown, out = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(status)) { for (const x of status) backendStates(x, out); return out }
  if (status && typeof status === 'object') {
    const o = status as Record<string, unknown>
    const st = o.state ?? o.status ?? (typeof o.healthy === 'boolean' ? (o.healthy ? 'up' : 'down') : undefined)
    if (typeof o.id === 'string' && (typeof st === 'string')) out.set(o.id, st + (typeof o.healthy === 'boolean' && o.state ? (o.healthy ? '/up' : '/down') : ''))
    for (const v of Object.values(o)) if (v && typeof v === 'object') backendStates(v, out)
  }
  return out
}

let healthy = false
let announced: boolean | null = null // unknown until the first birdc answer
let busy = false
let trackWritten: boolean | null = null
let tick = 0
const backends = new Map<string, string>()
// Per backend: the health snapshot version at which its current state was first seen, until
// every worker of this node holds that version (then it is deleted and "applied" is emitted).
const pendingSince = new Map<string, number>()

async function step(): Promise<void> {
  tick++
  const h = await get('/healthz')
  const was = healthy
  healthy = dampener.observe(h.code === 200, now())
  if (healthy !== was) emit({ ev: 'health', ok: healthy, ...(healthy ? {} : { code: h.code }) })
  const track = a['track-file']
  // Re-asserted every 10 ticks too, in case keepalived (re)created the file after us.
  if (track && (tick % 10 === 1 || healthy !== trackWritten)) {
    // Write-then-rename, so keepalived's inotify watch never reads a half-written file.
    writeFileSync(`${track}.tmp`, healthy ? '0\n' : '1\n')
    renameSync(`${track}.tmp`, track)
    if (healthy !== trackWritten) emit({ ev: 'track-file', healthy })
    trackWritten = healthy
  }
  const held = existsSync(a['withdraw-file'] as string)
  // While announced, the hold-down decides; to (re-)announce, l4lb must also have been stable for
  // up-after right now: a node restarted during an operator's hold never went "down" (its outage was
  // shorter than down-after), but it must not be announced the moment the hold is released.
  const want = !held && (wanted ? healthy : dampener.admissible(now()))
  if (a.announce !== 'off') await gate(want, held)
  if (h.code !== 0) {
    const s = await get('/status')
    if (s.code === 200) {
      try { recordStatus(JSON.parse(s.body) as Record<string, unknown>) } catch { /* a partial body: try again next tick */ }
    }
  }
}

/**
 * Records backend state changes from one /status document: {ev:"backend"} when the primary
 * decided a new state, {ev:"backend-applied"} once every worker of this node holds the snapshot
 * that carries it (appliedVersion >= the version it was first seen in; only then does the node
 * pick with it). Writes the latest summary to --status-file for drills to read.
 */
function recordStatus(doc: Record<string, unknown>): void {
  const version = Number(doc.healthVersion)
  const applied = Number(doc.appliedVersion ?? doc.healthVersion) // older l4lb without the field: assume applied
  const states = backendStates(doc.pools)
  for (const [id, st] of states) {
    if (backends.get(id) !== st) {
      backends.set(id, st)
      pendingSince.set(id, version)
      emit({ ev: 'backend', id, state: st, version, appliedVersion: applied })
    }
    const since = pendingSince.get(id)
    if (since !== undefined && applied >= since) {
      pendingSince.delete(id)
      emit({ ev: 'backend-applied', id, state: st, version, appliedVersion: applied })
    }
  }
  const summary = { t: Math.round(now() * 1000) / 1000, birdcFailures, healthVersion: version, appliedVersion: applied, converged: doc.converged ?? applied >= version, states: Object.fromEntries(states) }
  writeFileSync(`${a['status-file']}.tmp`, JSON.stringify(summary) + '\n')
  renameSync(`${a['status-file']}.tmp`, a['status-file'] as string)
}

let lastTick = 0
let wanted = false

/**
 * The announcement side of one tick. While l4lb is healthy and not held, renews the lease
 * (--lease: epoch ms) that lab/node/gate.sh withdraws on when it goes stale, so the route
 * cannot outlive this agent. Re-reads BIRD's state every 10 ticks, after a late tick (the gate
 * may have withdrawn meanwhile) and whenever `want` changes. A failed `disable` stops BIRD
 * (fail closed: the BGP session closes); a wanted announcement with BIRD not running starts it.
 */
async function gate(want: boolean, held: boolean): Promise<void> {
  const t = now()
  if (want) {
    // Write-then-rename: gate.sh must never read a truncated, empty lease (it would withdraw).
    writeFileSync(`${a.lease as string}.tmp`, `${Math.round(t)}\n`)
    renameSync(`${a.lease as string}.tmp`, a.lease as string)
  }
  const late = lastTick > 0 && t - lastTick > Number(a['lease-ms'])
  lastTick = t
  if (want && tick % 10 === 0 && !running('bfd')) emit({ ev: 'bfd-start', ok: await svcSh('start', 'bfd') })
  if (announced === null || late || tick % 10 === 0) {
    const r = await birdc(['show', 'protocols', 'vip'])
    announced = r.ok ? /\bvip\s+Static\s+\S+\s+up\b/.test(r.out) : null
    if (!r.ok && existsSync('/run/lab/bird.restarting')) {
      announced = null // svc.sh restarts BIRD gracefully: the router keeps the route meanwhile
    } else if (!r.ok && !running('bird')) {
      if (want) {
        writeVipState(false) // BIRD starts withdrawn; the next tick enables it
        emit({ ev: 'bird-start', ok: await svcSh('start', 'bird') })
        announced = null
      } else {
        // Not running, so nothing it could withdraw: but a BIRD that vanished without a Cease
        // leaves the route in the router for the graceful restart time. Fail closed.
        if (running('bfd')) await killSwitch('bird not running')
        announced = false
      }
    }
  }
  const changed = want !== wanted
  wanted = want
  if (!changed && want === announced) return // a change is acted on at once (enable/disable are idempotent)
  if (announced === null && want) return // BIRD unreachable: nothing to announce through
  writeVipState(want)
  const t0 = now()
  const r = await birdc([want ? 'enable' : 'disable', 'vip'])
  if (r.ok) {
    announced = want
    emit({ ev: 'announce', on: want, held, birdcMs: Math.round((now() - t0) * 10) / 10 })
  } else if (!want) {
    // Fail closed: BIRD cannot be told; the router drops the route when BFD and the session go down.
    await killSwitch('birdc disable failed')
    announced = false
  }
}

async function loop(): Promise<void> {
  if (busy) return
  busy = true
  try { await step() } finally { busy = false }
}

emit({ ev: 'agent-start', intervalMs, timeoutMs, fall, rise, downAfterMs, upAfterMs })
setInterval(() => { void loop() }, intervalMs)
process.on('SIGTERM', () => process.exit(0))
