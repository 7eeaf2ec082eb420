// The l4lb configuration schema: YAML keys (kebab-case), their defaults and
// docs side by side, mapped onto the camelCase Config of types.ts. The root
// check holds the rules that span sections: listener -> pool references,
// unique names, unique binds, and the context defaults (listener name, pool).
import { isIP } from 'node:net'
import type { AdminConfig, Config, HostPort, ListenerConfig, LogConfig, ProxyAcceptConfig, ShutdownConfig, TimeoutsConfig } from './types.ts'
import { list, nullable, obj, type Loose, type Report } from './dsl.ts'
import { bool, cidr, duration, hostPort, int, oneOf, str } from './scalars.ts'
import { NAME, pool } from './schema-pool.ts'
import { formatHostPort, isLoopback, suggest } from './values.ts'
import { checkScale, LIMITS } from './limits.ts'

const proxyProtocol = obj<ProxyAcceptConfig>({
  accept: { to: 'enabled', node: bool(), default: false, doc: 'Accept a PROXY protocol v1 or v2 header from trusted sources and use the address it carries as the client address.', seeAlso: ['pools[].hash-key'] },
  trusted: { to: 'trusted', node: list(cidr(), 0, undefined, LIMITS.trustedCidrs), default: [], doc: 'CIDRs (IPv4 or IPv6) allowed to send a PROXY header; a bare address means just that host. Required non-empty when `accept` is true.', seeAlso: ['listeners[].proxy-protocol.accept'] },
  timeout: { to: 'timeoutMs', node: duration(1), default: '3s', doc: 'The header must be complete within this time, or the connection is closed.', seeAlso: ['timeouts'] },
}, (p, report) => {
  if (p.enabled === true && p.trusted !== undefined && p.trusted.length === 0) report('trusted', 'must list at least one CIDR when accept is true')
})

const listener = obj<ListenerConfig>({
  name: { to: 'name', node: str(NAME, 'name (letters, digits, _ . -)'), contextDefault: '`listener-<index>`', doc: 'Name used in logs and metrics; unique.', seeAlso: ['listeners[].pool'] },
  bind: { to: 'bind', node: hostPort(0), doc: 'Address to listen on: `host:port`, IPv6 as `[::1]:8080`. Port 0 picks a free port (tests).', seeAlso: ['admin.bind'] },
  pool: { to: 'pool', node: str(), contextDefault: 'the first pool', doc: 'Name of the pool that receives the connections.', seeAlso: ['pools[].name'] },
  maxconn: { to: 'maxconn', node: int(0), default: 0, doc: 'Maximum concurrent client connections on this listener, split evenly across workers (each takes ceil(maxconn / workers)); past it new connections are refused and counted as rejected; 0 = unlimited.', seeAlso: ['workers', 'pools[].backends[].maxconn'] },
  'proxy-protocol': { to: 'proxyProtocol', node: proxyProtocol, default: {}, doc: 'Accepting a PROXY protocol header from a balancer in front.', seeAlso: ['pools[].send-proxy'] },
})

const timeouts = obj<TimeoutsConfig>({
  connect: { to: 'connectMs', node: duration(1), default: '5s', doc: 'A connect to a backend not established in this time fails (and is retried elsewhere).', seeAlso: ['pools[].retries'] },
  idle: { to: 'idleMs', node: duration(), default: '300s', doc: 'A connection with no bytes in either direction for this time is closed; 0 = never.', seeAlso: ['timeouts.half-closed'] },
  'half-closed': { to: 'halfClosedMs', node: duration(), default: '30s', doc: 'After one side ends its direction, the other has this long to finish; 0 = no limit.', seeAlso: ['timeouts.idle'] },
})

const admin = obj<AdminConfig>({
  enabled: { to: 'enabled', node: bool(), default: true, doc: 'Serve the HTTP admin API (status, metrics, reload).', seeAlso: ['admin.bind'] },
  bind: { to: 'bind', node: hostPort(0), default: '127.0.0.1:9090', doc: 'Address of the admin API.', seeAlso: ['admin.token', 'listeners[].bind'] },
  token: { to: 'token', node: nullable(str()), default: null, doc: 'Bearer token required on every admin request; required when `bind` is not loopback.', seeAlso: ['admin.bind'] },
}, (a, report) => {
  if (a.enabled === true && a.bind?.host !== undefined && a.bind.port !== undefined && a.token === null && !isLoopback(a.bind.host)) {
    report('token', `required when admin.bind (${formatHostPort(a.bind.host, a.bind.port)}) is not loopback`)
  }
})

const shutdown = obj<ShutdownConfig>({
  drain: { to: 'drainMs', node: duration(), default: '30s', doc: 'On SIGTERM, established connections may finish for this long before they are closed.', seeAlso: ['shutdown.hard-stop-after'] },
  'hard-stop-after': { to: 'hardStopAfterMs', node: duration(), default: '60s', doc: 'On reload, workers still holding drained connections are stopped after this time.', seeAlso: ['shutdown.drain'] },
})

const logSection = obj<LogConfig>({
  level: { to: 'level', node: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const), default: 'info', doc: 'Minimum level written; the LOG_LEVEL environment variable overrides it.', seeAlso: ['log.connections'] },
  connections: { to: 'connections', node: bool(), default: true, doc: 'Write one line per closed connection (client, backend, bytes, duration).', seeAlso: ['log.level'] },
})

export const schema = obj<Config>({
  workers: { to: 'workers', node: int(0, 1024), default: 0, doc: 'Worker processes sharing the listeners; 0 = one per CPU (os.availableParallelism()).', seeAlso: ['listeners[].maxconn'] },
  listeners: { to: 'listeners', node: list(listener, 1, 'at least one listener is required', LIMITS.listeners), doc: 'Where clients connect.', seeAlso: ['pools'] },
  pools: { to: 'pools', node: list(pool, 1, 'at least one pool is required', LIMITS.pools), doc: 'Groups of backends and how to choose among them.', seeAlso: ['listeners'] },
  timeouts: { to: 'timeouts', node: timeouts, default: {}, doc: 'Timeouts of proxied connections.', seeAlso: ['pools[].retries'] },
  admin: { to: 'admin', node: admin, default: {}, doc: 'The HTTP admin API: status page, metrics, health and reload.', seeAlso: ['admin.token'] },
  shutdown: { to: 'shutdown', node: shutdown, default: {}, doc: 'Graceful stop (SIGTERM) and reload.', seeAlso: ['timeouts'] },
  log: { to: 'log', node: logSection, default: {}, doc: 'Logging (pino JSON lines on stdout).', seeAlso: ['admin'] },
}, checkRoot)

function checkRoot(c: Loose<Config>, report: Report): void {
  checkScale(c, report)
  const poolNames = new Map<string, number>()
  c.pools?.forEach((p, i) => {
    if (p?.name === undefined) return
    const first = poolNames.get(p.name)
    if (first === undefined) poolNames.set(p.name, i)
    else report(`pools[${i}].name`, `duplicate pool name "${p.name}" (also pools[${first}])`)
  })
  const names = new Map<string, number>()
  const binds: { hp: HostPort; owner: string }[] = []
  // Pool references are checked only against a pool list whose names all decoded.
  const poolsKnown = c.pools !== undefined && c.pools.length > 0 && c.pools.every((p) => p?.name !== undefined)
  c.listeners?.forEach((l, i) => {
    if (l === undefined) return
    if (l.name === undefined && !Object.hasOwn(l, 'name')) l.name = `listener-${i}`
    if (l.name !== undefined) {
      const first = names.get(l.name)
      if (first === undefined) names.set(l.name, i)
      else report(`listeners[${i}].name`, `duplicate listener name "${l.name}" (also listeners[${first}])`)
    }
    if (poolsKnown && l.pool === undefined && !Object.hasOwn(l, 'pool')) l.pool = c.pools?.[0]?.name
    else if (poolsKnown && l.pool !== undefined && !poolNames.has(l.pool)) {
      const hint = suggest(l.pool, [...poolNames.keys()])
      report(`listeners[${i}].pool`, `no pool named "${l.pool}"${hint ? ` (did you mean "${hint}"?)` : ''}`)
    }
    if (l.bind?.host !== undefined && l.bind.port !== undefined) claimBind(binds, { host: l.bind.host, port: l.bind.port }, `listeners[${i}]`, `listeners[${i}].bind`, report)
  })
  const a = c.admin
  if (a?.enabled === true && a.bind?.host !== undefined && a.bind.port !== undefined) claimBind(binds, { host: a.bind.host, port: a.bind.port }, 'admin', 'admin.bind', report)
}

// Two sockets cannot share a port when the hosts match or one is a wildcard
// covering the other (0.0.0.0 covers IPv4; `::` is dual-stack, covers all).
// Port 0 is ephemeral, so any number of binds may ask for it.
function covers(a: string, b: string): boolean {
  return a === b || a === '::' || (a === '0.0.0.0' && isIP(b) === 4)
}

function claimBind(binds: { hp: HostPort; owner: string }[], hp: HostPort, owner: string, path: string, report: Report): void {
  const clash = binds.find((b) => hp.port !== 0 && b.hp.port === hp.port && (covers(b.hp.host, hp.host) || covers(hp.host, b.hp.host)))
  if (clash) report(path, `${formatHostPort(hp.host, hp.port)} is already used by ${clash.owner}`)
  binds.push({ hp, owner })
}
