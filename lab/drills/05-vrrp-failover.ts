// Drill 5, vrrp-failover, under 200 new connections/s to the VRRP VIP:
//  A. crash the VRRP master node (SIGKILL its container's init: every process and its
//     interfaces gone at once): time until ka2 is MASTER (target: Master_Down_Interval 322 ms with advert_int 0.1 and priority 200, + slack),
//     failed connections; then start ka1 again and count failures during failback
//     (ka1 preempts once its track_script sees /healthz 200 twice).
//  B. crash only l4lb on the master: the health agent's track_file (100 ms polls; the
//     1 s track_script is the fallback) moves the VIP; time and failed connections;
//     then restart l4lb and fail back.
import { drill, tally, unexplained, ms, bound, type Drill, CONN_TIMEOUT_MS } from './lib/harness.ts'
import { moreConns, connsAfter } from './lib/scenario.ts'
import { svc, vrrpHolder } from '../scripts/lib/labctl.ts'
import { until, nowMs } from '../scripts/lib/poll.ts'
import { docker } from '../scripts/lib/docker.ts'
import { flushBridgeAddrs, hostRoutesIntoLab } from '../scripts/lib/host.ts'
import { byRole } from '../scripts/lib/data.ts'

/** Waits for "<epoch> INSTANCE vip MASTER" in a node's vrrp.log after time t; returns its time. */
async function masterAt(d: Drill, node: string, after: number, deadlineMs: number): Promise<number> {
  return (await until(`${node} to become VRRP MASTER`, async () => {
    const log = await d.sh(node, 'cat /run/lab/vrrp.log 2>/dev/null || true')
    const hit = log.split('\n').map((l) => l.split(' ')).find((f) => f[3] === 'MASTER' && Number(f[0]) * 1000 > after)
    return hit ? Number(hit[0]) * 1000 : false
  }, { deadlineMs, intervalMs: 100 })).value
}

await drill('05-vrrp-failover', async (d) => {
  const [master, backup] = [...byRole(d.lab, 'ka')].sort((x, y) => (y.vrrpPriority ?? 0) - (x.vrrpPriority ?? 0)).map((n) => n.name)
  const vip = d.lab.vips.vrrp
  if ((await vrrpHolder(d.lab)) !== master) throw new Error(`${master} does not hold the VRRP VIP`)
  const steady = d.load('steady', vip, { rate: 200, timeout: CONN_TIMEOUT_MS, duration: 90_000 })
  await steady.waitFor('steady load', (e) => e.ev === 'ready', 10_000)
  await moreConns(steady, 200)

  // A. node crash
  let nodeDown = false
  d.cleanup(`start ${master}`, async () => { if (nodeDown) { docker(['start', d.c(master)]); flushBridgeAddrs(d.lab) } })
  // Crash = SIGKILL to the container's init from the host: the kernel then kills every
  // process in its PID namespace and the interfaces go with it. Timed right at kill(2).
  const initPid = Number(docker(['inspect', '-f', '{{.State.Pid}}', d.c(master)]).trim())
  if (!(initPid > 1)) throw new Error(`no init PID for ${master}`)
  nodeDown = true
  const tKill = nowMs()
  process.kill(initPid, 'SIGKILL')
  d.mark(`SIGKILL ${master} init`, tKill)
  const tTake = await masterAt(d, backup, tKill, 5_000)
  d.mark(`${backup} MASTER`, tTake)
  await connsAfter(steady, tTake + 1000, 50)
  const tStart = nowMs()
  docker(['start', d.c(master)])
  nodeDown = false
  flushBridgeAddrs(d.lab)
  d.mark(`docker start ${master}`, tStart)
  const tBack = await masterAt(d, master, tStart, 30_000)
  d.mark(`${master} MASTER again`, tBack)
  await connsAfter(steady, tBack + 1000, 50)

  // B. l4lb crash on the master
  let l4lbDown = false
  d.cleanup(`start l4lb on ${master}`, async () => { if (l4lbDown) await svc(d.lab, master, 'start', 'l4lb') })
  l4lbDown = true
  const tCrash = await svc(d.lab, master, 'kill', 'l4lb')
  d.mark(`kill l4lb ${master}`, tCrash)
  const tTake2 = await masterAt(d, backup, tCrash, 10_000)
  d.mark(`${backup} MASTER`, tTake2)
  await connsAfter(steady, tTake2 + 1000, 50)
  const tStart2 = await svc(d.lab, master, 'start', 'l4lb')
  l4lbDown = false
  d.mark(`start l4lb ${master}`, tStart2)
  const tBack2 = await masterAt(d, master, tStart2, 30_000)
  d.mark(`${master} MASTER again`, tBack2)
  await connsAfter(steady, tBack2 + 1000, 50)
  await steady.stop()
  const conns = steady.of('conn')
  d.conns.push(...conns)

  const a = tally(conns, tKill, tTake + 100)
  const fb = tally(conns, tStart, tBack + 1000)
  const b = tally(conns, tCrash, tTake2 + 100)
  const fb2 = tally(conns, tStart2, tBack2 + 1000)
  const other = unexplained(conns, [[tKill, tTake + 100], [tStart, tBack + 1000], [tCrash, tTake2 + 100], [tStart2, tBack2 + 1000]])
  // VRRPv3 (RFC 5798 6.1): the backup takes over after Master_Down_Interval = 3 x advert + skew,
  // skew = (256 - priority) / 256 x advert, counted from the last advert, which left before the crash.
  const advertMs = d.lab.timers.vrrp.advertInt * 1000
  const prio = byRole(d.lab, 'ka').find((n) => n.name === backup)?.vrrpPriority ?? 100
  const masterDown = Math.round((3 * advertMs + ((256 - prio) / 256) * advertMs) * 10) / 10
  const a1 = bound(masterDown, 'Master_Down_Interval')
  d.expect('A: takeover after master crash', ms(tTake - tKill), a1.target, a1.ok(tTake - tKill), 'ms')
  d.report('A: failed connections, crash -> takeover', `${a.failed}/${a.ok + a.failed}`)
  d.report('A: failback after restart (start -> MASTER)', ms(tBack - tStart), 'ms')
  d.report('A: failed connections during failback', `${fb.failed}/${fb.ok + fb.failed}`)
  // The agent's track_file reacts after its hold-down (down-after, then the deciding probe); the 1 s
  // track_script is the fallback.
  const ag = d.lab.timers.agent
  const b1 = bound(ag.downAfterMs + 2 * (ag.intervalMs + ag.timeoutMs), 'down-after + 2 x (agent interval + timeout)')
  d.expect('B: takeover after l4lb crash on master', ms(tTake2 - tCrash), b1.target, b1.ok(tTake2 - tCrash), 'ms')
  d.report('B: failed connections, crash -> takeover', `${b.failed}/${b.ok + b.failed}`)
  d.report('B: failback after l4lb restart', ms(tBack2 - tStart2), 'ms')
  d.report('B: failed connections during failback', `${fb2.failed}/${fb2.ok + fb2.failed}`)
  d.expect('failed connections outside those windows', other, '0', other === 0)
  d.expect('host routes into the lab after restarts', hostRoutesIntoLab().length, '0', hostRoutesIntoLab().length === 0)
  d.data.window = { tKill, tTake, tStart, tBack, tCrash, tTake2, tStart2, tBack2 }
})
