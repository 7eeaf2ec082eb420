// The l4lb configuration schema: YAML keys (kebab-case), their defaults and
// docs side by side, mapped onto the camelCase Config of types.ts. The root
// check holds the rules that span sections: listener -> pool references,
// unique names, unique binds, and the context defaults (listener name, pool).
import type { AdminConfig, Config, HostPort, ListenerConfig, LogConfig, ProxyAcceptConfig, ShutdownConfig, TimeoutsConfig } from './types.ts'
import { list, nullable, obj, type Loose, type Report } from './dsl.ts'
import { bool, cidr, duration, hostPort, int, oneOf, str } from './scalars.ts'
import { NAME, pool } from './schema-pool.ts'
import { canonicalHost, formatHostPort, isLoopback, suggest } from './values.ts'
import { checkScale, LIMITS } from './limits.ts'
import { fleet } from './schema-fleet.ts'

const proxyProtocol = obj<ProxyAcceptConfig>({
  accept: { to: 'enabled', node: bool(), default: false, doc: 'Accept a PROXY protocol v1 or v2 header from trusted sources and use the address it carries as the client address.', seeAlso: ['pools[].hash-key'] },
  trusted: { to: 'trusted', node: list(cidr(), 0, undefined, LIMITS.trustedCidrs), default: [], doc: 'CIDRs (IPv4 or IPv6) allowed to send a PROXY header; a bare address means just that host. Required non-empty when `accept` is true.', seeAlso: ['listeners[].proxy-protocol.accept'] },
  timeout: { to: 'timeoutMs', node: duration(1), default: '3s', doc: 'The header must be complete within this time, counted from accept (not from the last byte received: a slowloris defence), or the connection is reset (`PROXY_TIMEOUT`).', seeAlso: ['timeouts'] },
}, (p, report) => {
  if (p.enabled === true && p.trusted !== undefined && p.trusted.length === 0) report('trusted', 'must list at least one CIDR when accept is true')
})

const listener = obj<ListenerConfig>({
  name: { to: 'name', node: str(NAME, 'name (letters, digits, _ . -)'), contextDefault: '`listener-<index>`', doc: 'Name used in logs and metrics; unique.', seeAlso: ['listeners[].pool'] },
  bind: { to: 'bind', node: hostPort(0), doc: 'Address to listen on: `host:port`, IPv6 as `[::1]:8080`. Port 0 picks a free port (tests). Binds are compared by address (`[::ffff:127.0.0.1]` is `127.0.0.1`, `[0:0:0:0:0:0:0:1]` is `[::1]`): the same address twice, or a wildcard (`0.0.0.0`, dual-stack `[::]`) next to a specific address on the same port, is rejected, since one of the two would never get those connections.', seeAlso: ['admin.bind'] },
  pool: { to: 'pool', node: str(), contextDefault: 'the first pool', doc: 'Name of the pool that receives the connections.', seeAlso: ['pools[].name'] },
  maxconn: { to: 'maxconn', node: int(0), default: 0, doc: 'Maximum concurrent client connections on this listener, split evenly across workers (each takes ceil(maxconn / workers)); past it new connections are reset at once (RST) and counted as rejected; 0 = unlimited.', seeAlso: ['workers', 'pools[].backends[].maxconn'] },
  'proxy-protocol': { to: 'proxyProtocol', node: proxyProtocol, default: {}, doc: 'Accepting a PROXY protocol header from a balancer in front.', seeAlso: ['pools[].send-proxy'] },
})

const timeouts = obj<TimeoutsConfig>({
  connect: {
    to: 'connectMs', node: duration(1), default: '5s',
    doc: 'Each connect attempt to a backend not established in this time fails and is retried on another backend (counted from the start of that attempt). There is no "off": 0 is rejected.',
    seeAlso: ['pools[].retries'],
  },
  idle: {
    to: 'idleMs', node: duration(), default: '300s',
    doc: 'An established connection with no byte (and no FIN) in either direction for this time is reset on both sides (RST, as AWS NLB does at its idle timeout; HAProxy `timeout client`/`timeout server`). Applies whether or not a side has half-closed. 0 = never.',
    seeAlso: ['timeouts.half-closed'],
  },
  'half-closed': {
    to: 'halfClosedMs', node: duration(), default: '30s',
    doc: 'Once either side has ended its direction (sent FIN), the connection is reset on both sides when no byte moves in either direction for this time. It counts inactivity since the last byte or FIN either way, like HAProxy\'s `timeout client-fin` / `timeout server-fin`, not time since the half-close: a slow answer after a half-closed request keeps flowing as long as bytes keep coming. Unlike HAProxy it does not replace `timeouts.idle`: whichever is reached first ends the connection. There is no absolute cap on a half-closed connection. 0 = no limit of its own (`timeouts.idle` still applies).',
    seeAlso: ['timeouts.idle'],
  },
  queue: {
    to: 'queueMs', node: duration(1), default: '5s',
    doc: 'Longest a client waits in a pool\'s queue for a backend slot (HAProxy `timeout queue`), counted from its arrival; then it is reset (`queue-timeout`). Only with `pools[].max-queue` > 0.',
    seeAlso: ['pools[].max-queue'],
  },
  'connect-line': {
    to: 'connectLineMs', node: duration(1), default: '5s',
    doc: 'With `pools[].hash-key: connect-authority`: longest wait for the client\'s first line, counted from accept (not from its last byte). A client whose first bytes show no CONNECT line (another protocol, a malformed or oversized line) is not waited for: it falls back to the client address at once. A CONNECT line not finished by then ends the connection with a reset (`connect-line-timeout`); a client that sends its FIN first falls back to the client address. A client that waits for the server to speak first (an SMTP or SSH client) sends no line and is reset at this timeout: use `connect-authority` only for pools of forward proxies.',
    seeAlso: ['pools[].hash-key'],
  },
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
  drain: {
    to: 'drainMs', node: duration(), default: '30s',
    doc: 'On SIGTERM (and for a worker removed by a reload that lowers `workers`), listeners stop accepting and established connections may finish for this long; those still open then are reset on both sides (`hard-stop`). 0 = no drain: reset at once.',
    seeAlso: ['shutdown.hard-stop-after'],
  },
  'hard-stop-after': {
    to: 'hardStopAfterMs', node: duration(), default: '60s',
    doc: 'After a reload, connections still carried by a backend or listener the new config removed may finish for this long; those still open then are reset on both sides (`hard-stop`). Connections on kept backends are never cut. 0 = at once.',
    seeAlso: ['shutdown.drain'],
  },
})

const logSection = obj<LogConfig>({
  level: { to: 'level', node: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const), default: 'info', doc: 'Minimum level written; the LOG_LEVEL environment variable overrides it.', seeAlso: ['log.connections'] },
  connections: { to: 'connections', node: bool(), default: true, doc: 'Write one line per closed connection (client, backend, bytes, duration).', seeAlso: ['log.level'] },
})

export const schema = obj<Config>({
  workers: { to: 'workers', node: int(0, 1024), default: 0, doc: 'Worker processes sharing the listeners; 0 = one per CPU (os.availableParallelism()).', seeAlso: ['listeners[].maxconn'] },
  listeners: { to: 'listeners', node: list(listener, 1, 'at least one listener is required', LIMITS.listeners), doc: 'Where clients connect.', seeAlso: ['pools'] },
  pools: { to: 'pools', node: list(pool, 1, 'at least one pool is required', LIMITS.pools), contextDefault: 'required; with `fleet`, from the fleet store instead', doc: 'Groups of backends and how to choose among them.', seeAlso: ['listeners', 'fleet'] },
  timeouts: { to: 'timeouts', node: timeouts, default: {}, doc: 'Timeouts of proxied connections. Measured on the monotonic clock, as is the logged `durationMs`: a step of the wall clock (NTP, `date -s`) neither fires nor stalls them.', seeAlso: ['pools[].retries'] },
  admin: { to: 'admin', node: admin, default: {}, doc: 'The HTTP admin API: status page, metrics, health and reload.', seeAlso: ['admin.token'] },
  shutdown: { to: 'shutdown', node: shutdown, default: {}, doc: 'Graceful stop (SIGTERM) and reload.', seeAlso: ['timeouts'] },
  log: { to: 'log', node: logSection, default: {}, doc: 'Logging (pino JSON lines on stdout).', seeAlso: ['admin'] },
  engine: {
    to: 'engine', node: oneOf(['auto', 'js', 'native'] as const), default: 'auto',
    doc: 'What moves the bytes of established connections. `js`: Node sockets in each worker. `native`: the C addon built at install (`native/`, one epoll thread per worker); JavaScript still binds, picks and decides every retry, timeout, log line and metric; the addon connects the picked backend itself when every backend of the pool is an IP literal, else takes over the connection JavaScript connected, and accepts itself on a listener without `proxy-protocol.accept` whose pool it connects and reads no first bytes (no `hash-key: connect-authority`, no `observe`), asking JavaScript for the picks of a batch of clients in one call. `auto`: native when the addon loads, else js. Without the addon (no C compiler at install, or npm skipped the install script) `auto` runs the JavaScript engine and says so at start, in `/status` and in `l4lb check`; an explicit `native` is an error there: `check` fails, `run` refuses to start and a reload to it is rejected. A connection the native side cannot take stays on JavaScript and is counted (`l4lb_worker_native_fallbacks_total`). See docs/performance.md.',
    seeAlso: ['timeouts'],
  },
  fleet: {
    to: 'fleet', node: nullable(fleet), default: null,
    doc: 'Join a fleet of l4lb nodes that share their configuration and health through etcd (docs/fleet.md). With it, `pools` and `timeouts` come from the store key `<prefix>/config` and must not be in this file; listeners, admin, workers, engine, log and shutdown stay here. Null = this node alone.',
    seeAlso: ['pools'],
  },
}, checkRoot)

function checkRoot(c: Loose<Config>, report: Report, raw: Readonly<Record<string, unknown>>): void {
  // Required unless `fleet` is set (then the store holds the pools: load.ts, src/fleet/compose.ts).
  if (!Object.hasOwn(raw, 'pools') && (raw.fleet === undefined || raw.fleet === null)) report('pools', 'required key is missing')
  checkScale(c, report)
  const poolNames = new Map<string, number>()
  c.pools?.forEach((p, i) => {
    if (p?.name === undefined) return
    const first = poolNames.get(p.name)
    if (first === undefined) poolNames.set(p.name, i)
    else report(`pools[${i}].name`, `duplicate pool name "${p.name}" (also pools[${first}])`)
  })
  const names = new Map<string, number>()
  const binds: Bind[] = []
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
    if (l.bind?.host !== undefined && l.bind.port !== undefined) claimBind(binds, { host: l.bind.host, port: l.bind.port }, `listeners[${i}].bind`, report)
  })
  const a = c.admin
  if (a?.enabled === true && a.bind?.host !== undefined && a.bind.port !== undefined) claimBind(binds, { host: a.bind.host, port: a.bind.port }, 'admin.bind', report)
}

// Binds are compared by address, not spelling (canonicalHost: "::1" is
// "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1" is 127.0.0.1). Listeners open with
// SO_REUSEPORT, so Linux lets two of them bind the same or overlapping
// addresses without an error, and then one never gets what it was meant to:
// - the same address twice: the kernel splits connections between the two (or,
//   for an IPv4 bind next to its IPv4-mapped spelling, gives all to the IPv4 one);
// - a wildcard next to a specific address: connections to that address go to
//   the specific bind only, so the wildcard silently serves "all but" it.
//   0.0.0.0 covers every IPv4 address; `::` is dual-stack (Node does not set
//   IPV6_V6ONLY) and covers every address, IPv4 included.
// Both are rejected. Port 0 is ephemeral, so any number of binds may ask for it.
// Host names are not resolved: "localhost:80" next to "127.0.0.1:80" is not seen.
interface Bind {
  readonly hp: HostPort
  readonly addr: string // canonicalHost(hp.host)
  readonly path: string
}

function wildcard(addr: string): string | null {
  if (addr === '::') return 'every address, IPv4 included (dual-stack)'
  if (addr === '0.0.0.0') return 'every IPv4 address'
  return null
}

function covers(a: string, b: string): boolean {
  return a === '::' || (a === '0.0.0.0' && !b.includes(':'))
}

function claimBind(binds: Bind[], hp: HostPort, path: string, report: Report): void {
  const addr = canonicalHost(hp.host)
  const here = formatHostPort(hp.host, hp.port)
  for (const b of hp.port === 0 ? [] : binds) {
    if (b.hp.port !== hp.port) continue
    const there = formatHostPort(b.hp.host, b.hp.port)
    if (b.addr === addr) {
      report(path, b.hp.host === hp.host ? `${here} is already used by ${b.path}` : `${here} is the same address as ${b.path} (${there})`)
      break
    }
    const [wide, narrow] = covers(b.addr, addr) ? [b.addr, addr] : covers(addr, b.addr) ? [addr, b.addr] : [null, '']
    if (wide !== null) {
      const to = narrow === '0.0.0.0' ? 'any IPv4 address' : narrow
      report(path, `${here} overlaps ${b.path} (${there}): ${wide} is ${wildcard(wide)}, and Linux gives every connection to ${to} to the more specific bind only`)
      break
    }
  }
  binds.push({ hp, addr, path })
}
