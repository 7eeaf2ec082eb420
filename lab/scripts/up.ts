// npm run lab:up — from a bare machine to a running lab, then waits (polling with
// deadlines) until every BGP session is Established, the router has a nexthop per
// lb node, every l4lb answers 200 on /healthz and one ka node holds the VRRP VIP.
// Records each host change in lab/.state/host.json so lab:down can undo it.
import { existsSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { loadLab, LAB_DIR, REPO_DIR, STATE_DIR, byRole, container, origin } from './lib/data.ts'
import { run, must, log } from './lib/exec.ts'
import { dockerBin, docker, compose, execIn } from './lib/docker.ts'
import { imageCheck } from './image-check.ts'
import { ensurePackages, ensureDockerd, addBridgeAccepts, flushBridgeAddrs, hostRoutesIntoLab, raiseLabCpuWeight } from './lib/host.ts'
import { updateState } from './lib/state.ts'
import { renderAll } from './render.ts'
import { until } from './lib/poll.ts'
import { birdProtocols, etcdHealth, fleetView, healthz, svc, L4LB_BIN, NODE_BIN, vipNexthops, vrrpHolder, lbAddr, lbNames, kaNames } from './lib/labctl.ts'

const t0 = performance.now()
const lab = loadLab()
const secs = () => ((performance.now() - t0) / 1000).toFixed(1) + ' s'

if (!existsSync(path.join(REPO_DIR, 'src/cli/main.ts'))) {
  throw new Error('src/cli/main.ts is missing: the lab runs the real l4lb (`l4lb run -c FILE`), which this checkout does not have yet')
}
if (!existsSync(path.join(REPO_DIR, 'node_modules/node/bin/node'))) {
  throw new Error('node_modules/node/bin/node is missing: run `npm ci` first (the containers use this pinned Node)')
}

ensurePackages()
await ensureDockerd()

// Rebuilt when missing or made for another package list (its label, set by base-image.sh).
const wantPackages = [...lab.packages].sort().join(' ')
const baseLabel = run(dockerBin(), ['image', 'inspect', '-f', '{{index .Config.Labels "l4lb-lab.packages"}}', lab.baseImage])
if (baseLabel.code !== 0 || baseLabel.stdout.trim() !== wantPackages) {
  log(`building base image ${lab.baseImage} offline (debootstrap + docker import)`)
  const cache = path.join(STATE_DIR, 'cache')
  mkdirSync(cache, { recursive: true })
  must('bash', [path.join(LAB_DIR, 'scripts/base-image.sh'), lab.baseImage, ...lab.packages], { env: { ...process.env, LAB_CACHE: cache }, timeoutMs: 900_000 })
}
// l4lb's own image first (deploy/Dockerfile: the packed package installed offline, the pinned
// Node), then the lab's image on top of it: the balancer nodes run l4lb from the image.
log(`building ${lab.l4lbImage} (deploy/build-image.sh on ${lab.baseImage})`)
must('bash', [path.join(REPO_DIR, 'deploy/build-image.sh'), lab.baseImage, lab.l4lbImage], { env: { ...process.env, DOCKER_BUILDKIT: '0' }, timeoutMs: 600_000 })
log(`building ${lab.image} on ${lab.l4lbImage}`)
docker(['build', '-q', '-t', lab.image, '--build-arg', `BASE=${lab.l4lbImage}`, '--build-arg', `PACKAGES=${lab.packages.join(' ')}`, LAB_DIR], 600_000)

renderAll(lab)
log('starting the topology')
updateState((s) => { s.composeUp = true })
const up = compose(lab, ['up', '-d', '--remove-orphans'], 300_000)
if (up.code !== 0) throw new Error(`compose up failed: ${up.stderr}`)
flushBridgeAddrs(lab)
addBridgeAccepts(lab)
raiseLabCpuWeight()
const leaks = hostRoutesIntoLab()
if (leaks.length) throw new Error(`the host has routes into the lab: ${leaks.join('; ')}`)

log('waiting for BGP, /healthz, ECMP nexthops and VRRP')
const lbs = lbNames(lab)
const bgp = await until('BGP Established to every lb node', async () => {
  const ps = await birdProtocols(lab, 'router')
  return lbs.every((n) => ps.some((p) => p.name === n && p.info.startsWith('Established')))
}, { deadlineMs: 60_000, intervalMs: 250 })
log(`BGP Established after ${(bgp.elapsedMs / 1000).toFixed(1)} s of waiting`)
const members = byRole(lab, 'etcd').length
const etcd = await until(`all ${members} etcd members healthy (seen from lb1)`, async () => {
  const h = await etcdHealth(lab, 'lb1')
  return Object.keys(h).length === members && Object.values(h).every(Boolean)
}, { deadlineMs: 30_000, intervalMs: 250 })
log(`etcd: ${members} members healthy after ${(etcd.elapsedMs / 1000).toFixed(1)} s of waiting`)
if (lab.l4lb.fleet.enabled) {
  // The fleet's pool goes into etcd before any l4lb can run (a fleet node with neither a store
  // value nor a last-known-good file refuses to start); then every node's l4lb is started
  // (svc.sh start is idempotent: one started by entry.sh after the push keeps running).
  const push = await execIn(container(lab, 'lb1'), `${L4LB_BIN} fleet push -c /etc/lab/l4lb-shared.yaml --node-config /etc/lab/l4lb.yaml`)
  if (push.code !== 0) throw new Error(`l4lb fleet push failed (exit ${push.code}): ${push.stdout}${push.stderr}`)
  log(`fleet: ${push.stdout.trim()}`)
  await Promise.all([...lbs, ...kaNames(lab)].map((n) => svc(lab, n, 'start', 'l4lb')))
}
await until('/healthz 200 on every l4lb node', async () => {
  const all = await Promise.all([...lbs, ...kaNames(lab)].map((n) => healthz(lab, n)))
  return all.every(Boolean)
}, { deadlineMs: 60_000, intervalMs: 250 })
if (lab.l4lb.fleet.enabled) {
  const leader = await until('one health leader followed by every node', async () => {
    const f = await fleetView(lab)
    return f.leader !== null && f.nodes.length === lbs.length + kaNames(lab).length && f.nodes.every((n) => n.role === (n.name === f.leader ? 'leader' : 'follower')) && f
  }, { deadlineMs: 30_000, intervalMs: 250 })
  log(`fleet: ${leader.value.leader} leads (term ${leader.value.term}), ${leader.value.nodes.length - 1} followers`)
}
// Every l4lb runs from the image as its unprivileged user with NET_BIND_SERVICE only (svc.sh).
for (const n of [...lbs, ...kaNames(lab)]) {
  const st = await execIn(`${lab.project}-${n}`, 'grep -E "^(Uid|CapEff):" /proc/$(cat /run/lab/l4lb.pid)/status; readlink /proc/$(cat /run/lab/l4lb.pid)/cwd; tr "\\0" " " < /proc/$(cat /run/lab/l4lb.pid)/cmdline')
  const uid = /^Uid:\s+(\d+)/m.exec(st.stdout)?.[1]
  const cap = /^CapEff:\s+([0-9a-f]+)/m.exec(st.stdout)?.[1]
  if (uid === undefined || uid === '0' || cap !== '0000000000000400' || !st.stdout.includes('/opt/l4lb/')) {
    throw new Error(`${n}: l4lb does not run from the image as its l4lb user with NET_BIND_SERVICE only:\n${st.stdout}${st.stderr}`)
  }
}
const want = lbs.map((n) => lbAddr(lab, n)).sort().join(',')
await until('a router nexthop for the VIP per lb node', async () => (await vipNexthops(lab)).active.join(',') === want, { deadlineMs: 30_000, intervalMs: 200 })
const master = [...byRole(lab, 'ka')].sort((x, y) => (y.vrrpPriority ?? 0) - (x.vrrpPriority ?? 0))[0].name
const holder = await until(`the VRRP VIP on ${master} (highest priority)`, async () => (await vrrpHolder(lab)) === master && master, { deadlineMs: 30_000, intervalMs: 200 })
// Issue 14: the proxies' tunnels reach the origin by its site names (Docker's DNS aliases), through the tunnels listener.
const o = origin(lab)
const tunnelCmd = `${NODE_BIN} /l4lb/lab/tools/load.ts burst --vip ${lab.vips.anycast} --port ${lab.l4lb.tunnels.port} --count ${o.sites.length} --concurrency 4 --timeout 2000 ` +
  `--sites ${o.sites.map((x) => `${x}:${o.node.port}`).join(',')}`
await until(`CONNECT tunnels to all ${o.sites.length} sites of the origin through the anycast VIP`, async () => {
  const r = await execIn(container(lab, 'client'), tunnelCmd, 30_000)
  const done = r.stdout.split('\n').filter((l) => l.includes('"ev":"done"')).map((l) => JSON.parse(l) as { ok: number; count: number })[0]
  return done !== undefined && done.ok === done.count
}, { deadlineMs: 30_000, intervalMs: 500 })
log(`tunnels: ${o.sites.length} sites reached the origin through the proxies`)
const ic = await imageCheck(lab)
log(`image check: ${ic.image} run alone (docker run --init, NET_BIND_SERVICE only, read-only) served via ${ic.servedBy} as uid ${ic.uid} (CapEff ${ic.capEff}, CapBnd ${ic.capBnd}); SIGHUP reloaded in ${ic.reloadMs.toFixed(0)} ms; docker stop exited ${ic.exitCode} after ${ic.stopMs.toFixed(0)} ms`)
log(`lab up in ${secs()}: ${lbs.length} lb nodes announcing ${lab.vips.anycast}, VRRP VIP ${lab.vips.vrrp} on ${holder.value}, ${byRole(lab, 'backend').length} backends`)
