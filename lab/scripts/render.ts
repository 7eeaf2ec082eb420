// Renders the lab from lab/lab.yaml and lab/templates/*:
//   lab/compose.yaml                 (committed; `render.ts --check` fails if it is stale)
//   lab/.state/conf/<node>/*         (bird.conf, keepalived.conf, l4lb.yaml, l4lb-shared.yaml with a fleet, node.env)
// Templates use {{key}} placeholders; a key missing from the values is an error,
// so a template and this script cannot silently drift apart.
import { mkdirSync, readFileSync, writeFileSync, existsSync, rmSync, readdirSync } from 'node:fs'
import path from 'node:path'
import YAML from 'yaml'
import { LAB_DIR, STATE_DIR, loadLab, byRole, container, origin, type Lab, type Node, type NetName } from './lib/data.ts'
import { COMPOSE_FILE } from './lib/docker.ts'

export const CONF_DIR = path.join(STATE_DIR, 'conf')

export function fill(template: string, values: Record<string, string | number>, what: string): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, k: string) => {
    if (!(k in values)) throw new Error(`${what}: template key {{${k}}} has no value`)
    return String(values[k])
  })
}

function tpl(name: string): string {
  return readFileSync(path.join(LAB_DIR, 'templates', name), 'utf8')
}

function routerOf(lab: Lab): Node {
  return byRole(lab, 'router')[0]
}

function birdRouter(lab: Lab, n: Node): string {
  const neighbors = byRole(lab, 'lb')
    .map((lb) => `protocol bgp ${lb.name} from lbnode {\n  neighbor ${lb.addrs.lb} as ${lb.asn};\n}`)
    .join('\n\n')
  return fill(tpl('bird-router.conf'), { ...timerValues(lab), name: n.name, router_id: n.routerId ?? n.addrs.lb ?? '', asn: n.asn ?? 0, anycast: lab.vips.anycast, neighbors }, 'bird-router.conf')
}

function timerValues(lab: Lab): Record<string, string | number> {
  const { bgp, bfd } = lab.timers
  return {
    bfd_interval: bfd.intervalMs, bfd_multiplier: bfd.multiplier, bgp_hold: bgp.hold, bgp_keepalive: bgp.keepalive,
    bgp_connect_retry: bgp.connectRetry, bgp_error_wait: `${bgp.errorWait[0]}, ${bgp.errorWait[1]}`, bgp_gr_time: bgp.grTime, bgp_gr_wait: bgp.grWait,
  }
}

function birdLb(lab: Lab, n: Node): string {
  const r = routerOf(lab)
  return fill(tpl('bird-lb.conf'), {
    ...timerValues(lab), name: n.name, router_id: n.addrs.lb ?? '', asn: n.asn ?? 0, peer: r.addrs.lb ?? '', peer_asn: r.asn ?? 0, anycast: lab.vips.anycast,
  }, 'bird-lb.conf')
}

/** The lb node's BFD-only BIRD: BFD answers for the node, whatever its routing daemon does. */
function birdLbBfd(lab: Lab, n: Node): string {
  return fill(tpl('bird-lb-bfd.conf'), { ...timerValues(lab), name: n.name, router_id: n.addrs.lb ?? '', peer: routerOf(lab).addrs.lb ?? '' }, 'bird-lb-bfd.conf')
}

function keepalived(lab: Lab, n: Node): string {
  const peers = byRole(lab, 'ka').filter((k) => k.name !== n.name).map((k) => `    ${k.addrs.ka}`).join('\n')
  const v = lab.timers.vrrp
  return fill(tpl('keepalived.conf'), {
    name: n.name, self: n.addrs.ka ?? '', peers, priority: n.vrrpPriority ?? 100, vrid: lab.vips.vrrpVrid, advert_int: v.advertInt,
    script_interval: v.scriptInterval, script_fall: v.scriptFall, script_rise: v.scriptRise,
    vrrp_vip: lab.vips.vrrp, prefix: lab.networks.ka.subnet.split('/')[1], agent_interval: lab.timers.agent.intervalMs,
  }, 'keepalived.conf')
}

/** The pool every balancer node runs (lab/templates/l4lb-shared.yaml): in each file, or in etcd with a fleet. */
export function l4lbShared(lab: Lab): string {
  const ag = lab.l4lb.agent
  const backends = byRole(lab, 'backend').map((b) => `      - { host: ${b.addrs.be}, port: ${b.port}, id: ${b.name}, agent: { port: ${ag.port}, interval: ${ag.interval}, timeout: ${ag.timeout} } }`).join('\n')
  const h = lab.l4lb.health
  const tu = lab.l4lb.tunnels
  const o = origin(lab).node
  return fill(tpl('l4lb-shared.yaml'), {
    policy: lab.l4lb.policy, hash_key: lab.l4lb.hashKey, retries: lab.l4lb.retries, backends,
    health_type: h.type, health_interval: h.interval, health_timeout: h.timeout, health_fall: h.fall, health_rise: h.rise,
    passive_consecutive: lab.l4lb.passive.consecutive, passive_base: lab.l4lb.passive.baseEjection, passive_max: lab.l4lb.passive.maxEjection,
    tunnels_hash_key: tu.hashKey, tunnels_observe: tu.observe, tunnels_backends: tunnelBackends(lab),
    tunnels_health_type: tu.health.type, tunnels_health_interval: tu.health.interval, tunnels_health_timeout: tu.health.timeout,
    tunnels_health_fall: tu.health.fall, tunnels_health_rise: tu.health.rise, tunnels_check_target: `${o.addrs.be}:${o.port}`,
    tunnels_passive_consecutive: tu.passive.consecutive, tunnels_passive_base: tu.passive.baseEjection, tunnels_passive_max: tu.passive.maxEjection,
  }, 'l4lb-shared.yaml')
}

/** Backend id of proxy `name` in the tunnels pool: not its id in the first pool, whose states drills 1-17 read by id. */
export function tunnelId(name: string): string {
  return `tun-${name}`
}

/** The tunnels pool's backends: the same proxies (no agent check: drill 17 drains the first pool's). */
function tunnelBackends(lab: Lab): string {
  return byRole(lab, 'backend').map((b) => `      - { host: ${b.addrs.be}, port: ${b.port}, id: ${tunnelId(b.name)} }`).join('\n')
}

/** Where a node's l4lb keeps its last applied fleet config (svc.sh makes the directory, owned by the l4lb user). */
export const FLEET_STATE_FILE = '/run/lab/l4lb/fleet-config.yaml'

/** The `fleet:` section of node `n` (its name, the lab's etcd members). */
function fleetSection(lab: Lab, n: Node): string {
  const f = lab.l4lb.fleet
  const endpoints = etcdEndpoints(lab).split(',').join(', ')
  return `fleet: { endpoints: [${endpoints}], prefix: ${f.prefix}, node: ${n.name}, lease-ttl: ${f.leaseTtl}, ` +
    `stale-after: ${f.staleAfter}, poll-interval: ${f.pollInterval}, state-file: ${FLEET_STATE_FILE} }\n`
}

function l4lbConf(lab: Lab, n: Node): string {
  return fill(tpl('l4lb.yaml'), {
    name: n.name, port: lab.vips.port, tunnels_port: lab.l4lb.tunnels.port, admin: lab.l4lb.admin, drain: lab.l4lb.drain,
    rest: lab.l4lb.fleet.enabled ? fleetSection(lab, n) : l4lbShared(lab),
  }, 'l4lb.yaml')
}

/** The router's lab/tools/nhg.ts arguments (svc.sh "nhg"); empty (no group) elsewhere or with ecmp.mode plain. */
function nhgArgs(lab: Lab, n: Node): string {
  const e = lab.ecmp
  return n.role === 'router' && e.mode === 'resilient' ? `--vip ${lab.vips.anycast} --buckets ${e.buckets} --idle ${e.idleTimer} --unbalanced ${e.unbalancedTimer}` : ''
}

/** Client URLs of the lab's etcd members (port 2379 on the store network), comma-separated. */
export function etcdEndpoints(lab: Lab): string {
  return byRole(lab, 'etcd').map((m) => `http://${m.addrs.store}:2379`).join(',')
}

/** An etcd member's command line (svc.sh "etcd"): a static three-member bootstrap, data in /run/lab/etcd. */
function etcdArgs(lab: Lab, n: Node): string {
  if (n.role !== 'etcd') return ''
  const members = byRole(lab, 'etcd').map((m) => `${m.name}=http://${m.addrs.store}:2380`).join(',')
  const a = n.addrs.store
  return `--name ${n.name} --data-dir /run/lab/etcd --listen-client-urls http://${a}:2379,http://127.0.0.1:2379 --advertise-client-urls http://${a}:2379 ` +
    `--listen-peer-urls http://${a}:2380 --initial-advertise-peer-urls http://${a}:2380 --initial-cluster ${members} --initial-cluster-token ${lab.project} --initial-cluster-state new --auto-compaction-mode=periodic --auto-compaction-retention=10m`
}

function nodeEnv(lab: Lab, n: Node): string {
  const prefixOf = (net: NetName) => lab.networks[net].subnet.split('/')[1]
  let extra = ''
  if (n.sources) {
    const base = n.sources.from.split('.').map(Number)
    const list: string[] = []
    for (let i = 0; i < n.sources.count; i++) list.push(`${base[0]}.${base[1]}.${base[2]}.${base[3] + i}/${prefixOf('client')}`)
    extra = list.join(' ')
  }
  const a = lab.timers.agent
  return fill(tpl('node.env'), {
    name: n.name, role: n.role, gw: n.gw ?? '', lo_addrs: n.role === 'lb' ? `${lab.vips.anycast}/32` : '', extra_addrs: extra,
    vrrp_self: n.addrs.ka ?? '', port: n.port ?? lab.vips.port, admin: lab.l4lb.admin, lease_ms: a.leaseMs, nhg: nhgArgs(lab, n),
    etcd: etcdArgs(lab, n), etcd_endpoints: etcdEndpoints(lab), agent_port: n.role === 'backend' ? lab.l4lb.agent.port : '',
    // A CONNECT may reach the lab's own networks only (responder.ts answers 403 elsewhere).
    allow: Object.values(lab.networks).map((x) => x.subnet).join(','),
    agent: `--interval ${a.intervalMs} --timeout ${a.timeoutMs} --fall ${a.fall} --rise ${a.rise} --down-after ${a.downAfterMs} --up-after ${a.upAfterMs} --lease-ms ${a.leaseMs}${n.role === 'ka' ? ' --announce off --track-file /run/lab/l4lb.track' : ''}`,
  }, 'node.env')
}

export function composeDoc(lab: Lab): string {
  const networks: Record<string, unknown> = {}
  for (const [name, net] of Object.entries(lab.networks)) {
    networks[`lab-${name}`] = {
      driver: 'bridge',
      internal: true,
      driver_opts: { 'com.docker.network.bridge.name': net.bridge },
      ipam: { driver: 'default', config: [{ subnet: net.subnet, gateway: net.hostGw }] },
    }
  }
  const services: Record<string, unknown> = {}
  for (const n of lab.nodes) {
    // Only the router forwards. A balancer host does not, and a container would otherwise inherit
    // the host's ip_forward=1 (Docker sets it), which hid issue 10's split-brain fault: the old
    // VRRP master quietly forwarded the VIP's traffic to the new one.
    const sysctls: Record<string, string> = { 'net.ipv4.conf.all.rp_filter': '0', 'net.ipv4.conf.default.rp_filter': '0', 'net.ipv4.ip_forward': '0' }
    if (n.role === 'router') {
      Object.assign(sysctls, { 'net.ipv4.ip_forward': '1', 'net.ipv4.fib_multipath_hash_policy': '3', 'net.ipv4.fib_multipath_hash_fields': '0x0037' })
    }
    if (n.role === 'client') sysctls['net.ipv4.ip_local_port_range'] = '10000 60999'
    const nets: Record<string, unknown> = {}
    for (const [net, addr] of Object.entries(n.addrs)) nets[`lab-${net}`] = { ipv4_address: addr }
    // The origin's site names: Docker's DNS answers them on the backend network (the proxies resolve them).
    if (n.role === 'origin') nets['lab-be'] = { ...(nets['lab-be'] as object), aliases: origin(lab).sites }
    const volumes = ['..:/l4lb:ro', `./.state/conf/${n.name}:/etc/lab:ro`]
    services[n.name] = {
      image: lab.image,
      container_name: container(lab, n.name),
      hostname: n.name,
      init: true,
      cap_add: ['NET_ADMIN', 'NET_RAW'],
      sysctls,
      volumes,
      networks: nets,
      command: ['/l4lb/lab/node/entry.sh'],
      stop_grace_period: '2s',
      labels: { 'l4lb-lab.role': n.role },
    }
  }
  const header = '# GENERATED by lab/scripts/render.ts from lab/lab.yaml; edit those, then `node lab/scripts/render.ts`.\n' +
    '# Accepted by docker-compose v1 (1.29) and docker compose v2. No privileged containers; every network is internal.\n'
  return header + YAML.stringify({ version: '2.4', services, networks }, { lineWidth: 0 })
}

export function renderAll(lab: Lab): void {
  // Files are rewritten in place, never by removing the directory: running containers
  // bind-mount these directories, and a re-created directory would leave them an empty one.
  for (const n of lab.nodes) {
    const dir = path.join(CONF_DIR, n.name)
    mkdirSync(dir, { recursive: true })
    for (const f of readdirSync(dir)) rmSync(path.join(dir, f), { force: true })
    writeFileSync(path.join(dir, 'node.env'), nodeEnv(lab, n))
    if (n.role === 'router') writeFileSync(path.join(dir, 'bird.conf'), birdRouter(lab, n))
    if (n.role === 'lb') writeFileSync(path.join(dir, 'bird.conf'), birdLb(lab, n))
    if (n.role === 'lb') writeFileSync(path.join(dir, 'bird-bfd.conf'), birdLbBfd(lab, n))
    if (n.role === 'lb' || n.role === 'ka') writeFileSync(path.join(dir, 'l4lb.yaml'), l4lbConf(lab, n))
    if ((n.role === 'lb' || n.role === 'ka') && lab.l4lb.fleet.enabled) writeFileSync(path.join(dir, 'l4lb-shared.yaml'), l4lbShared(lab))
    if (n.role === 'ka') writeFileSync(path.join(dir, 'keepalived.conf'), keepalived(lab, n))
  }
  writeFileSync(COMPOSE_FILE, composeDoc(lab))
}

if (import.meta.main) {
  const lab = loadLab()
  if (process.argv.includes('--check')) {
    const current = existsSync(COMPOSE_FILE) ? readFileSync(COMPOSE_FILE, 'utf8') : ''
    if (current !== composeDoc(lab)) { console.error('lab/compose.yaml is stale: run node lab/scripts/render.ts'); process.exit(1) }
    console.log('lab/compose.yaml matches lab/lab.yaml')
  } else {
    renderAll(lab)
    console.log(`rendered ${COMPOSE_FILE} and ${CONF_DIR}/<node>/`)
  }
}
