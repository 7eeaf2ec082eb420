// Runs l4lb's own image (lab.yaml l4lb-image, deploy/Dockerfile) ALONE, the way
// deploy/Dockerfile's head comment tells users to: `docker run --init`, every
// capability dropped but NET_BIND_SERVICE, no-new-privileges, a read-only root,
// the config mounted :ro. It sits on the lab's backend network (image-check.addr)
// in front of the lab's backends, and the check is what a user would see:
//   1. it serves: a connection from lb1 to image-check.addr:80 reaches a backend;
//   2. the process is the image's l4lb user, holds no capability (docker gives a non-root
//      user none; port 80 binds because Docker >= 20.10 sets ip_unprivileged_port_start=0
//      in the container) and can never gain one but NET_BIND_SERVICE (bounding set);
//   3. `docker kill -s HUP` reloads (the primary logs "config reloaded");
//   4. `docker stop` drains and the container exits 0 well within --stop-timeout.
// lab:up calls imageCheck() once the topology is up; `node lab/scripts/image-check.ts`
// runs it alone on a running lab. The container is removed on every path (and
// carries the compose project label, so lab:down removes a leftover too).
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { byRole, loadLab, STATE_DIR, type Lab } from './lib/data.ts'
import { dockerBin, execIn } from './lib/docker.ts'
import { log, run } from './lib/exec.ts'
import { until } from './lib/poll.ts'
import { NODE_BIN } from './lib/labctl.ts'

/** What the check measured; each field is also asserted (imageCheck throws on a miss). */
export interface ImageCheck {
  readonly image: string
  readonly servedBy: string // backend name that answered through the container
  readonly uid: number // the l4lb process's uid (not 0)
  readonly capEff: string // hex; 0 (none) or 0000000000000400 (NET_BIND_SERVICE)
  readonly capBnd: string // hex; 0000000000000400: nothing beyond NET_BIND_SERVICE can be gained
  readonly reloadMs: number // SIGHUP sent -> "config reloaded" in its log
  readonly stopMs: number // docker stop -> exited
  readonly exitCode: number
}

const CAP_NET_BIND_SERVICE_ONLY = '0000000000000400'

function dk(args: string[], timeoutMs = 60_000): string {
  const r = run(dockerBin(), args, { timeoutMs })
  if (r.code !== 0) throw new Error(`image check: docker ${args.join(' ')} exited ${r.code}: ${r.stderr.trim().slice(-800)}`)
  return r.stdout.trim()
}

/** The compose network (name as docker knows it) that `lb1` has on the backend subnet. */
function backendNetwork(lab: Lab, via: string): string {
  const nets = JSON.parse(dk(['inspect', '-f', '{{json .NetworkSettings.Networks}}', via])) as Record<string, { IPAddress: string }>
  const be = lab.nodes.find((n) => n.name === 'lb1')?.addrs.be
  const name = Object.entries(nets).find(([, v]) => v.IPAddress === be)?.[0]
  if (!name) throw new Error(`image check: ${via} has no network with its backend address ${be}`)
  return name
}

/** Config the container runs: the lab's pool (same backends, policy, health) behind one listener on :port. */
function configYaml(lab: Lab): string {
  const backends = byRole(lab, 'backend').map((b) => `      - { host: ${b.addrs.be}, port: ${b.port}, id: ${b.name} }`).join('\n')
  return [
    '# l4lb-lab image check: rendered by lab/scripts/image-check.ts',
    'workers: 1',
    'listeners:',
    `  - { name: vip, bind: "0.0.0.0:${lab.vips.port}" }`,
    'pools:',
    '  - name: proxies',
    `    policy: ${lab.l4lb.policy}`,
    `    hash-key: ${lab.l4lb.hashKey}`,
    '    backends:',
    backends,
    `    health: { type: ${lab.l4lb.health.type}, interval: ${lab.l4lb.health.interval}, timeout: ${lab.l4lb.health.timeout}, fall: ${lab.l4lb.health.fall}, rise: ${lab.l4lb.health.rise} }`,
    'shutdown: { drain: 2s }',
    'log: { level: info, connections: false }',
    '',
  ].join('\n')
}

/** One WHO over a fresh connection from inside `via` to addr:port; the backend's name, or null. */
async function whoFrom(via: string, addr: string, port: number): Promise<string | null> {
  const js = `const s=require('net').connect(${port},'${addr}',()=>s.write('WHO\\n'));let b='';` +
    `s.setTimeout(1500,()=>{s.destroy();process.exit(1)});s.on('data',d=>{b+=d;if(b.includes('\\n')){console.log(b.trim());s.destroy()}});s.on('error',()=>process.exit(1))`
  const r = await execIn(via, `${NODE_BIN} -e "${js.replace(/"/g, '\\"')}"`, 10_000)
  if (r.code !== 0) return null
  try { return (JSON.parse(r.stdout) as { be?: string }).be ?? null } catch { return null }
}

/** Runs the check (see the file's head comment). Throws with the container's log on any miss. */
export async function imageCheck(lab: Lab): Promise<ImageCheck> {
  const name = `${lab.project}-image-check`
  const via = `${lab.project}-lb1`
  const dir = path.join(STATE_DIR, 'conf', 'image-check')
  mkdirSync(dir, { recursive: true, mode: 0o755 })
  const conf = path.join(dir, 'l4lb.yaml')
  writeFileSync(conf, configYaml(lab), { mode: 0o644 })
  run(dockerBin(), ['rm', '-f', name])
  const port = lab.vips.port
  try {
    dk(['run', '-d', '--name', name, '--label', `com.docker.compose.project=${lab.project}`,
      '--network', backendNetwork(lab, via), '--ip', lab.imageCheck.addr,
      '--init', '--cap-drop', 'ALL', '--cap-add', 'NET_BIND_SERVICE', '--security-opt', 'no-new-privileges',
      '--read-only', '--stop-timeout', '10', '-v', `${conf}:/etc/l4lb/l4lb.yaml:ro`, lab.l4lbImage])
    const served = await until(`a connection through ${lab.l4lbImage} run alone reaches a backend`,
      async () => (await whoFrom(via, lab.imageCheck.addr, port)) ?? false, { deadlineMs: 30_000, intervalMs: 250 })
    // PID 1 is docker's init; l4lb's primary is its oldest child.
    const status = dk(['exec', name, 'sh', '-c', 'grep -E "^(Uid|CapEff|CapBnd):" /proc/$(pgrep -o -P 1)/status'])
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? NaN)
    const capEff = /^CapEff:\s+([0-9a-f]+)/m.exec(status)?.[1] ?? ''
    if (!(uid > 0)) throw new Error(`image check: l4lb runs as uid ${uid}, not the image's l4lb user\n${status}`)
    const capBnd = /^CapBnd:\s+([0-9a-f]+)/m.exec(status)?.[1] ?? ''
    if (BigInt(`0x${capEff || 'f'}`) & ~BigInt(`0x${CAP_NET_BIND_SERVICE_ONLY}`)) throw new Error(`image check: l4lb's effective capabilities are ${capEff}: more than NET_BIND_SERVICE (${CAP_NET_BIND_SERVICE_ONLY})`)
    if (capBnd !== CAP_NET_BIND_SERVICE_ONLY) throw new Error(`image check: l4lb's bounding set is ${capBnd}, not NET_BIND_SERVICE only (${CAP_NET_BIND_SERVICE_ONLY})`)
    const reloadsBefore = (dk(['logs', name]) + '').split('config reloaded').length
    const h0 = performance.now()
    dk(['kill', '-s', 'HUP', name])
    await until('"config reloaded" in its log after docker kill -s HUP', () => {
      const r = run(dockerBin(), ['logs', name])
      return (r.stdout + r.stderr).split('config reloaded').length > reloadsBefore
    }, { deadlineMs: 15_000, intervalMs: 100 })
    const reloadMs = performance.now() - h0
    if ((await whoFrom(via, lab.imageCheck.addr, port)) === null) throw new Error('image check: no backend answered after the reload')
    const s0 = performance.now()
    dk(['stop', name], 30_000)
    const stopMs = performance.now() - s0
    const exitCode = Number(dk(['inspect', '-f', '{{.State.ExitCode}}', name]))
    if (exitCode !== 0) throw new Error(`image check: docker stop left exit code ${exitCode} (expected 0 after a drain)`)
    return { image: lab.l4lbImage, servedBy: served.value, uid, capEff, capBnd, reloadMs, stopMs, exitCode }
  } catch (e) {
    const logs = run(dockerBin(), ['logs', '--tail', '40', name])
    throw new Error(`${(e as Error).message}\n--- ${name} log ---\n${logs.stdout}${logs.stderr}`)
  } finally {
    run(dockerBin(), ['rm', '-f', name])
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await imageCheck(loadLab())
  log(`image check: ${r.image} run alone served via ${r.servedBy} as uid ${r.uid} (CapEff ${r.capEff}, CapBnd ${r.capBnd}); SIGHUP reloaded in ${r.reloadMs.toFixed(0)} ms; docker stop exited ${r.exitCode} after ${r.stopMs.toFixed(0)} ms`)
}
