// Loads lab/lab.yaml, the lab's only data file, into typed records.
// loadLab() throws with the offending key path when the file is malformed;
// callers never see a half-checked object.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import YAML from 'yaml'

export const LAB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const REPO_DIR = path.resolve(LAB_DIR, '..')
export const STATE_DIR = path.join(LAB_DIR, '.state')
export const RESULTS_DIR = path.join(LAB_DIR, 'results')

export type Role = 'client' | 'router' | 'lb' | 'ka' | 'backend' | 'etcd' | 'origin'
export type NetName = 'client' | 'lb' | 'ka' | 'be' | 'store'

export interface Network { subnet: string; bridge: string; hostGw: string }
export interface Node {
  name: string
  role: Role
  addrs: Partial<Record<NetName, string>>
  gw?: string
  asn?: number
  routerId?: string
  vrrpPriority?: number
  port?: number
  sources?: { from: string; count: number }
  /** The origin's site names (site01..siteNN), Docker network aliases on the backend network. */
  sites?: number
}
export interface Lab {
  project: string
  image: string
  /** l4lb's own image (deploy/Dockerfile on baseImage); lab/Dockerfile builds `image` on it. */
  l4lbImage: string
  baseImage: string
  /** Where lab:up runs l4lbImage alone on the backend network to check the documented `docker run`. */
  imageCheck: { addr: string }
  packages: string[]
  vips: { anycast: string; vrrp: string; vrrpVrid: number; port: number }
  networks: Record<NetName, Network>
  /** How the router spreads the anycast VIP: a resilient nexthop group (buckets, timers in s) or BIRD's plain multipath. */
  ecmp: { mode: 'resilient' | 'plain'; buckets: number; idleTimer: number; unbalancedTimer: number }
  timers: {
    bgp: { hold: number; keepalive: number; connectRetry: number; errorWait: [number, number]; grTime: number; grWait: number }
    bfd: { intervalMs: number; multiplier: number }
    vrrp: { advertInt: number; scriptInterval: number; scriptFall: number; scriptRise: number }
    agent: { intervalMs: number; timeoutMs: number; fall: number; rise: number; downAfterMs: number; upAfterMs: number; leaseMs: number }
  }
  l4lb: {
    /** Issue 13's fleet: the pool in etcd, one health leader (durations as l4lb config strings). */
    fleet: { enabled: boolean; prefix: string; leaseTtl: string; staleAfter: string; pollInterval: string }
    /** Issue 14's agent check on every backend (port, durations as l4lb config strings). */
    agent: { port: number; interval: string; timeout: string }
    policy: string; hashKey: string; retries: number; admin: string; drain: string
    health: { type: string; interval: string; timeout: string; fall: number; rise: number }
    passive: { consecutive: number; baseEjection: string; maxEjection: string }
    /** Issue 14: the second listener and pool, CONNECT tunnels through the proxies to the origin. */
    tunnels: {
      port: number; hashKey: string; observe: string
      health: { type: string; interval: string; timeout: string; fall: number; rise: number }
      passive: { consecutive: number; baseEjection: string; maxEjection: string }
    }
  }
  nodes: Node[]
}

type Obj = Record<string, unknown>
const ROLES: Role[] = ['client', 'router', 'lb', 'ka', 'backend', 'etcd', 'origin']
const NETS: NetName[] = ['client', 'lb', 'ka', 'be', 'store']
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

function obj(v: unknown, at: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`lab.yaml: ${at} must be a mapping`)
  return v as Obj
}
function str(v: unknown, at: string): string {
  if (typeof v !== 'string' || v === '') throw new Error(`lab.yaml: ${at} must be a non-empty string`)
  return v
}
function num(v: unknown, at: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`lab.yaml: ${at} must be a number`)
  return v
}
function ip(v: unknown, at: string): string {
  const s = str(v, at)
  const m = IPV4.exec(s)
  if (!m || m.slice(1).some((o) => Number(o) > 255)) throw new Error(`lab.yaml: ${at} must be an IPv4 address`)
  if (!inSubnet(s, '198.18.0.0/15')) throw new Error(`lab.yaml: ${at} (${s}) is outside 198.18.0.0/15`)
  return s
}

export function ipToInt(a: string): number {
  return a.split('.').reduce((n, o) => n * 256 + Number(o), 0)
}
export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.')
}
export function inSubnet(a: string, cidr: string): boolean {
  const [base, len] = cidr.split('/')
  const size = 2 ** (32 - Number(len))
  const start = ipToInt(base) - (ipToInt(base) % size)
  const x = ipToInt(a)
  return x >= start && x < start + size
}

export function loadLab(file = path.join(LAB_DIR, 'lab.yaml')): Lab {
  const raw = obj(YAML.parse(readFileSync(file, 'utf8')), '(root)')
  const vips = obj(raw.vips, 'vips')
  const nets = obj(raw.networks, 'networks')
  const networks = {} as Record<NetName, Network>
  for (const n of NETS) {
    const o = obj(nets[n], `networks.${n}`)
    const subnet = str(o.subnet, `networks.${n}.subnet`)
    ip(subnet.split('/')[0], `networks.${n}.subnet`)
    networks[n] = { subnet, bridge: str(o.bridge, `networks.${n}.bridge`), hostGw: ip(o['host-gw'], `networks.${n}.host-gw`) }
  }
  const t = obj(raw.timers, 'timers')
  const bgp = obj(t.bgp, 'timers.bgp')
  const bfd = obj(t.bfd, 'timers.bfd')
  const vrrp = obj(t.vrrp, 'timers.vrrp')
  const agent = obj(t.agent, 'timers.agent')
  const ew = bgp['error-wait']
  if (!Array.isArray(ew) || ew.length !== 2) throw new Error('lab.yaml: timers.bgp.error-wait must be [min, max]')
  const e = obj(raw.ecmp, 'ecmp')
  const mode = str(e.mode, 'ecmp.mode')
  if (mode !== 'resilient' && mode !== 'plain') throw new Error('lab.yaml: ecmp.mode must be resilient or plain')
  const l = obj(raw.l4lb, 'l4lb')
  const h = obj(l.health, 'l4lb.health')
  const pa = obj(l.passive, 'l4lb.passive')
  const fl = obj(l.fleet, 'l4lb.fleet')
  const ag = obj(l.agent, 'l4lb.agent')
  const tu = obj(l.tunnels, 'l4lb.tunnels')
  const th = obj(tu.health, 'l4lb.tunnels.health')
  const tp = obj(tu.passive, 'l4lb.tunnels.passive')
  if (typeof fl.enabled !== 'boolean') throw new Error('lab.yaml: l4lb.fleet.enabled must be true or false')
  const nodes: Node[] = []
  for (const [name, v] of Object.entries(obj(raw.nodes, 'nodes'))) {
    const o = obj(v, `nodes.${name}`)
    const role = str(o.role, `nodes.${name}.role`) as Role
    if (!ROLES.includes(role)) throw new Error(`lab.yaml: nodes.${name}.role must be one of ${ROLES.join(', ')}`)
    const addrs: Partial<Record<NetName, string>> = {}
    for (const [net, a] of Object.entries(obj(o.addrs, `nodes.${name}.addrs`))) {
      if (!NETS.includes(net as NetName)) throw new Error(`lab.yaml: nodes.${name}.addrs.${net} names no network`)
      const addr = ip(a, `nodes.${name}.addrs.${net}`)
      if (!inSubnet(addr, networks[net as NetName].subnet)) throw new Error(`lab.yaml: nodes.${name}.addrs.${net} is outside its subnet`)
      addrs[net as NetName] = addr
    }
    const node: Node = { name, role, addrs }
    if (o.gw !== undefined) node.gw = ip(o.gw, `nodes.${name}.gw`)
    if (o.asn !== undefined) node.asn = num(o.asn, `nodes.${name}.asn`)
    if (o['router-id'] !== undefined) node.routerId = ip(o['router-id'], `nodes.${name}.router-id`)
    if (o['vrrp-priority'] !== undefined) node.vrrpPriority = num(o['vrrp-priority'], `nodes.${name}.vrrp-priority`)
    if (o.port !== undefined) node.port = num(o.port, `nodes.${name}.port`)
    if (o.sites !== undefined) node.sites = num(o.sites, `nodes.${name}.sites`)
    if (o.sources !== undefined) {
      const s = obj(o.sources, `nodes.${name}.sources`)
      node.sources = { from: ip(s.from, `nodes.${name}.sources.from`), count: num(s.count, `nodes.${name}.sources.count`) }
    }
    nodes.push(node)
  }
  return {
    project: str(raw.project, 'project'),
    image: str(raw.image, 'image'),
    l4lbImage: str(raw['l4lb-image'], 'l4lb-image'),
    baseImage: str(raw['base-image'], 'base-image'),
    imageCheck: { addr: imageCheckAddr(obj(raw['image-check'], 'image-check'), networks.be.subnet, nodes) },
    packages: (raw.packages as unknown[]).map((p, i) => str(p, `packages[${i}]`)),
    vips: {
      anycast: ip(vips.anycast, 'vips.anycast'), vrrp: ip(vips.vrrp, 'vips.vrrp'),
      vrrpVrid: num(vips['vrrp-vrid'], 'vips.vrrp-vrid'), port: num(vips.port, 'vips.port'),
    },
    networks,
    ecmp: { mode, buckets: num(e.buckets, 'ecmp.buckets'), idleTimer: num(e['idle-timer'], 'ecmp.idle-timer'), unbalancedTimer: num(e['unbalanced-timer'], 'ecmp.unbalanced-timer') },
    timers: {
      bgp: {
        hold: num(bgp.hold, 'timers.bgp.hold'), keepalive: num(bgp.keepalive, 'timers.bgp.keepalive'),
        connectRetry: num(bgp['connect-retry'], 'timers.bgp.connect-retry'),
        errorWait: [num(ew[0], 'timers.bgp.error-wait[0]'), num(ew[1], 'timers.bgp.error-wait[1]')],
        grTime: num(bgp['graceful-restart-time'], 'timers.bgp.graceful-restart-time'), grWait: num(bgp['graceful-restart-wait'], 'timers.bgp.graceful-restart-wait'),
      },
      bfd: { intervalMs: num(bfd['interval-ms'], 'timers.bfd.interval-ms'), multiplier: num(bfd.multiplier, 'timers.bfd.multiplier') },
      vrrp: {
        advertInt: num(vrrp['advert-int'], 'timers.vrrp.advert-int'),
        scriptInterval: num(vrrp['script-interval'], 'timers.vrrp.script-interval'),
        scriptFall: num(vrrp['script-fall'], 'timers.vrrp.script-fall'),
        scriptRise: num(vrrp['script-rise'], 'timers.vrrp.script-rise'),
      },
      agent: {
        intervalMs: num(agent['interval-ms'], 'timers.agent.interval-ms'), timeoutMs: num(agent['timeout-ms'], 'timers.agent.timeout-ms'),
        fall: num(agent.fall, 'timers.agent.fall'), rise: num(agent.rise, 'timers.agent.rise'),
        downAfterMs: num(agent['down-after-ms'], 'timers.agent.down-after-ms'), upAfterMs: num(agent['up-after-ms'], 'timers.agent.up-after-ms'),
        leaseMs: num(agent['lease-ms'], 'timers.agent.lease-ms'),
      },
    },
    l4lb: {
      fleet: {
        enabled: fl.enabled, prefix: str(fl.prefix, 'l4lb.fleet.prefix'), leaseTtl: str(fl['lease-ttl'], 'l4lb.fleet.lease-ttl'),
        staleAfter: str(fl['stale-after'], 'l4lb.fleet.stale-after'), pollInterval: str(fl['poll-interval'], 'l4lb.fleet.poll-interval'),
      },
      agent: { port: num(ag.port, 'l4lb.agent.port'), interval: str(ag.interval, 'l4lb.agent.interval'), timeout: str(ag.timeout, 'l4lb.agent.timeout') },
      policy: str(l.policy, 'l4lb.policy'), hashKey: str(l['hash-key'], 'l4lb.hash-key'),
      retries: num(l.retries, 'l4lb.retries'), admin: str(l.admin, 'l4lb.admin'), drain: str(l.drain, 'l4lb.drain'),
      health: {
        type: str(h.type, 'l4lb.health.type'), interval: str(h.interval, 'l4lb.health.interval'),
        timeout: str(h.timeout, 'l4lb.health.timeout'), fall: num(h.fall, 'l4lb.health.fall'), rise: num(h.rise, 'l4lb.health.rise'),
      },
      passive: {
        consecutive: num(pa.consecutive, 'l4lb.passive.consecutive'), baseEjection: str(pa['base-ejection'], 'l4lb.passive.base-ejection'),
        maxEjection: str(pa['max-ejection'], 'l4lb.passive.max-ejection'),
      },
      tunnels: {
        port: num(tu.port, 'l4lb.tunnels.port'), hashKey: str(tu['hash-key'], 'l4lb.tunnels.hash-key'), observe: str(tu.observe, 'l4lb.tunnels.observe'),
        health: {
          type: str(th.type, 'l4lb.tunnels.health.type'), interval: str(th.interval, 'l4lb.tunnels.health.interval'),
          timeout: str(th.timeout, 'l4lb.tunnels.health.timeout'), fall: num(th.fall, 'l4lb.tunnels.health.fall'), rise: num(th.rise, 'l4lb.tunnels.health.rise'),
        },
        passive: {
          consecutive: num(tp.consecutive, 'l4lb.tunnels.passive.consecutive'), baseEjection: str(tp['base-ejection'], 'l4lb.tunnels.passive.base-ejection'),
          maxEjection: str(tp['max-ejection'], 'l4lb.tunnels.passive.max-ejection'),
        },
      },
    },
    nodes,
  }
}

/** image-check.addr: an address on the backend network that no node holds. */
function imageCheckAddr(o: Obj, beSubnet: string, nodes: Node[]): string {
  const addr = ip(o.addr, 'image-check.addr')
  if (!inSubnet(addr, beSubnet)) throw new Error(`lab.yaml: image-check.addr (${addr}) is outside networks.be (${beSubnet})`)
  const holder = nodes.find((n) => Object.values(n.addrs).includes(addr))
  if (holder) throw new Error(`lab.yaml: image-check.addr (${addr}) is also nodes.${holder.name}'s address`)
  return addr
}

export function byRole(lab: Lab, role: Role): Node[] {
  return lab.nodes.filter((n) => n.role === role)
}
export function node(lab: Lab, name: string): Node {
  const n = lab.nodes.find((x) => x.name === name)
  if (!n) throw new Error(`lab.yaml has no node ${name}`)
  return n
}
export function container(lab: Lab, name: string): string {
  return `${lab.project}-${name}`
}
/** The origin node (role origin) and its site names site01..siteNN (zero-padded to two digits). */
export function origin(lab: Lab): { node: Node; sites: string[] } {
  const o = byRole(lab, 'origin')[0]
  if (!o) throw new Error('lab.yaml has no node with role origin')
  return { node: o, sites: Array.from({ length: o.sites ?? 0 }, (_, i) => `site${String(i + 1).padStart(2, '0')}`) }
}
/** The client's extra source addresses, in order. */
export function clientSources(lab: Lab): string[] {
  const c = byRole(lab, 'client')[0]
  if (!c?.sources) return []
  const base = ipToInt(c.sources.from)
  return Array.from({ length: c.sources.count }, (_, i) => intToIp(base + i))
}
