// Schema of a pool: policy, backends, active health checks, passive ejection.
// Defaults sit beside each key; cross-field rules sit in each object's check.
import type { AgentConfig, RetryBudgetConfig, BackendConfig, HealthConfig, HostPort, HttpCheckConfig, PassiveConfig, PoolConfig } from './types.ts'
import { list, map, nullable, obj, refine, type Loose, type Report } from './dsl.ts'
import { bool, duration, host, hostPort, int, num, oneOf, statusRange, str } from './scalars.ts'
import { canonicalHost, formatHostPort, isPrime, nextPrime } from './values.ts'
import { defaultMaglevTableSize, minMaglevTableSize } from '../balancer/maglev-table.ts'
import { HASH_KEYS } from '../balancer/hash.ts'
import { HASHING_POLICIES, POLICIES, POLICY_NAMES, policiesTaking, takesOption, WEIGH_BY, type PolicyOption } from '../balancer/policies.ts'
import { CHECK_KIND_NAMES, CHECK_KINDS } from './check-kinds.ts'
import { LIMITS } from './limits.ts'
const SEND_PROXY = ['none', 'v1', 'v2'] as const
export const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/
const ID = /^[A-Za-z0-9_.:[\]-]{1,128}$/ // room for the default "[v6]:port"
const MAX_TABLE = 16_777_216 // 2^24 entries is far past any fleet; also bounds the primality test

/** Longest `agent.send` (bytes): a request line, not a payload. */
export const MAX_AGENT_SEND = 1024

const agentSend = refine(str(), (s) => (Buffer.byteLength(s) <= MAX_AGENT_SEND ? undefined : `${Buffer.byteLength(s)} bytes is longer than ${MAX_AGENT_SEND}`), `string of at most ${MAX_AGENT_SEND} bytes`)

// `port: null` (the default) is "no agent": the node maps to AgentConfig | null,
// as `health.connect` maps to its target.
const agent = map(obj<{ host: string | null; port: number | null; intervalMs: number; timeoutMs: number; send: string | null }>({
  port: {
    to: 'port', node: nullable(int(1, 65535)), default: null,
    doc: 'TCP port of the backend\'s agent (HAProxy `agent-check` + `agent-port`); null = no agent check. The agent answers one line of words separated by spaces, tabs or commas, in any order: `up`, `down` (or `fail`, `stopped`), `ready`, `drain`, `maint`, a weight `N%` of the configured weight, `maxconn:N` (read, not applied), and an optional `# description`. Words it does not send leave their part unchanged. See docs/backend-states.md, "Agent check".',
    seeAlso: ['pools[].backends[].agent.interval', 'pools[].backends[].weight'],
  },
  host: { to: 'host', node: nullable(host()), default: null, doc: 'Address of the agent (HAProxy `agent-addr`); null = the backend\'s host.', seeAlso: ['pools[].backends[].agent.port'] },
  interval: { to: 'intervalMs', node: duration(100), default: '2s', doc: 'Time between two polls of the agent (HAProxy `agent-inter`), ±10% jitter; a poll never overlaps the previous one.', seeAlso: ['pools[].backends[].agent.timeout'] },
  timeout: { to: 'timeoutMs', node: duration(1), default: '1s', doc: 'A poll that has no complete line in this time (counted from its start, connect included) is ignored and logged; the backend keeps what the agent said last. At most `interval`.', seeAlso: ['pools[].backends[].agent.interval'] },
  send: { to: 'send', node: nullable(agentSend), default: null, doc: 'String written to the agent once connected (HAProxy `agent-send`), e.g. `"status\\n"`; null = nothing (the agent speaks first).', seeAlso: ['pools[].backends[].agent.port'] },
}, (a, report, raw) => {
  if (a.timeoutMs !== undefined && a.intervalMs !== undefined && a.timeoutMs > a.intervalMs) report('timeout', `${a.timeoutMs}ms is longer than interval (${a.intervalMs}ms)`)
  // Agent keys without a port would silently mean "no agent check"; an explicit `port: null` is the deliberate off switch.
  const given = Object.keys(raw)
  if (given.length > 0 && !Object.hasOwn(raw, 'port')) report('port', `required when other agent keys are set (${given.join(', ')}): without a port there is no agent check`)
}), (a): AgentConfig | null => (a.port === null ? null : { host: a.host, port: a.port, intervalMs: a.intervalMs, timeoutMs: a.timeoutMs, send: a.send }))

const backend = obj<BackendConfig>({
  host: { to: 'host', node: host(), doc: 'Address of the backend: IPv4 or IPv6 literal (no brackets) or a host name resolved at connect time. The same address twice in a pool, in any spelling (`::1` and `0:0:0:0:0:0:0:1`, `::ffff:10.0.0.1` and `10.0.0.1`, names in any case), is rejected: give one backend a weight instead.', seeAlso: ['pools[].backends[].id', 'pools[].backends[].port'] },
  port: { to: 'port', node: int(1, 65535), doc: 'TCP port of the backend.', seeAlso: ['pools[].backends[].host'] },
  id: {
    to: 'id', node: str(ID, 'id (letters, digits, _ . : - [ ])'), contextDefault: '`host:port` (`[v6]:port`), the host in one form per address (IPv6 as RFC 5952, IPv4-mapped as IPv4, names lower-case)',
    doc: 'Stable identity used by the hashing policies, health state and metrics. Keep it when the address changes so flows keep their backend; ids are unique within a pool.',
    seeAlso: ['pools[].policy'],
  },
  weight: { to: 'weight', node: int(0, 256), default: 1, doc: 'Relative share of new flows. 0 keeps the backend in the pool but gives it no new flows.', seeAlso: ['pools[].slowstart', 'pools[].policy'] },
  backup: { to: 'backup', node: bool(), default: false, doc: 'Only used when no non-backup backend is available.', seeAlso: ['pools[].backends[].weight'] },
  maxconn: { to: 'maxconn', node: int(0), default: 0, doc: 'Maximum concurrent connections to this backend, counted in each worker (unlike `listeners[].maxconn` it is not split: with `workers: 2` the backend may carry up to 2 × maxconn); a backend at it takes no new flow (see `pools[].max-queue`); 0 = unlimited.', seeAlso: ['listeners[].maxconn'] },
  'send-proxy': {
    to: 'sendProxy', node: oneOf(SEND_PROXY), contextDefault: "the pool's `send-proxy`",
    doc: 'PROXY protocol header sent to this backend before the client bytes; overrides the pool setting.',
    seeAlso: ['pools[].send-proxy'],
  },
  agent: { to: 'agent', node: agent, default: {}, doc: 'Agent check: a small program on the backend host reports its state and a weight percentage (HAProxy `agent-check`); off unless `agent.port` is set.', seeAlso: ['pools[].backends[].agent.port'] },
}, (b) => {
  // With a bad host or port the backend is rejected anyway; nothing to default.
  // One id per address however it is spelled ("::1" = "0:0:0:0:0:0:0:1"), so
  // nodes whose configs spell it differently still hash alike.
  if (b.id === undefined && b.host !== undefined && b.port !== undefined) b.id = formatHostPort(canonicalHost(b.host), b.port)
})

const http = obj<HttpCheckConfig>({
  method: { to: 'method', node: str(/^[A-Z]{1,16}$/, 'HTTP method in capitals'), default: 'GET', doc: 'Request method of the HTTP check.', seeAlso: ['pools[].health.http.path'] },
  path: { to: 'path', node: str(/^\/\S*$/, 'path starting with /'), default: '/', doc: 'Request path of the HTTP check.', seeAlso: ['pools[].health.http.method'] },
  host: { to: 'host', node: nullable(str()), default: null, doc: 'Host header; null sends the backend address.', seeAlso: ['pools[].health.http.path'] },
  'expect-status': {
    to: 'expectStatus', node: statusRange(), default: '200-399',
    doc: 'Status code, or inclusive range, that counts as a pass.',
    seeAlso: ['pools[].health.type'],
  },
})

const connect = map(obj<{ target: HostPort | null }>({
  target: {
    to: 'target', node: nullable(hostPort(1)), default: null,
    doc: 'host:port the check asks the backend (a forward proxy) to CONNECT to; a 2xx answer is a pass. Required when `type` is `connect`.',
    seeAlso: ['pools[].health.type'],
  },
}), (c) => c.target)

const health = obj<HealthConfig>({
  type: {
    to: 'type', node: oneOf(CHECK_KIND_NAMES), default: 'tcp',
    doc: `When a backend passes: ${CHECK_KIND_NAMES.map((k) => `\`${k}\` (${CHECK_KINDS[k].doc})`).join('; ')}.`,
    seeAlso: ['pools[].health.connect.target', 'pools[].health.http', 'pools[].passive'],
  },
  interval: { to: 'intervalMs', node: duration(1), default: '2s', doc: 'Time between checks of one backend while its state is stable.', seeAlso: ['pools[].health.fast-interval', 'pools[].health.jitter'] },
  'fast-interval': { to: 'fastIntervalMs', node: duration(1), default: '500ms', doc: 'Time between checks while a backend is changing state (between the first and the `rise`-th or `fall`-th result).', seeAlso: ['pools[].health.interval'] },
  timeout: { to: 'timeoutMs', node: duration(1), default: '1s', doc: 'A check not finished in this time, counted from its start (not from its last byte), fails.', seeAlso: ['pools[].health.interval'] },
  fall: { to: 'fall', node: int(1, 100), default: 3, doc: 'Consecutive failed checks that mark an up backend down.', seeAlso: ['pools[].health.rise'] },
  rise: { to: 'rise', node: int(1, 100), default: 2, doc: 'Consecutive passed checks that mark a down backend up.', seeAlso: ['pools[].health.fall'] },
  jitter: { to: 'jitter', node: num(0, 1), default: 0.1, doc: 'Random spread of each interval, as a fraction of it, so checks do not arrive in bursts; 0 = exact intervals.', seeAlso: ['pools[].health.interval'] },
  http: { to: 'http', node: http, default: {}, doc: 'Settings of the `http` check type.', seeAlso: ['pools[].health.type'] },
  connect: { to: 'connectTarget', node: connect, default: {}, doc: 'Settings of the `connect` check type.', seeAlso: ['pools[].health.type'] },
}, (h, report) => {
  const requires = h.type === undefined ? null : CHECK_KINDS[h.type].requires
  if (requires === 'connect.target' && h.connectTarget === null) report(requires, `required when type is ${h.type}`)
})

const passive = obj<PassiveConfig>({
  consecutive: { to: 'consecutive', node: int(0, 1000), default: 5, doc: 'Consecutive failed connects that eject a backend; 0 turns passive ejection off. The last backend of a pool that can serve is never ejected.', seeAlso: ['pools[].health', 'pools[].passive.max-ejection-percent'] },
  'base-ejection': { to: 'baseEjectionMs', node: duration(1), default: '30s', doc: 'First ejection time; the n-th ejection in a row lasts n times as long (as Envoy). An ejection ends early when an active check started after it passes.', seeAlso: ['pools[].passive.max-ejection', 'pools[].health.fast-interval'] },
  'max-ejection': { to: 'maxEjectionMs', node: duration(1), default: '300s', doc: 'Upper bound of an ejection time.', seeAlso: ['pools[].passive.base-ejection'] },
  'max-ejection-percent': { to: 'maxEjectionPercent', node: int(0, 100), default: 50, doc: 'Passive ejection stops while floor(backends × percent / 100) of the pool are out (ejected or down by active checks), so a client-side fault cannot empty it: 1 backend at 50% is never ejected, 2 at 50% lose at most one.', seeAlso: ['pools[].passive.consecutive'] },
}, (p, report) => {
  if (p.baseEjectionMs !== undefined && p.maxEjectionMs !== undefined && p.maxEjectionMs < p.baseEjectionMs) {
    report('max-ejection', `${p.maxEjectionMs}ms is shorter than base-ejection (${p.baseEjectionMs}ms)`)
  }
})

// `budget-percent: null` (the default) is "no budget": the node maps to RetryBudgetConfig | null.
const retryBudget = map(obj<{ budgetPercent: number | null; minRetryConcurrency: number }>({
  'budget-percent': {
    to: 'budgetPercent', node: nullable(num(0, 100)), default: null,
    doc: 'Envoy\'s retry budget (`retry_budget.budget_percent`): at most this percentage of the pool\'s active connections (connecting or open, plus clients in its queue) may be retries in flight at once, in each worker; a failed connect past it is not retried and ends `connect-failed`. So a failing fleet is not hit `retries` + 1 times by every client. null = no budget (every failed connect may retry, up to `retries`).',
    seeAlso: ['pools[].retry-budget.min-retry-concurrency', 'pools[].retries'],
  },
  'min-retry-concurrency': {
    to: 'minRetryConcurrency', node: int(0, 100_000), default: 3,
    doc: 'Floor of the retry budget (Envoy\'s `min_retry_concurrency`, default 3 there too): this many retries may always be in flight per worker, so a quiet pool still retries.',
    seeAlso: ['pools[].retry-budget.budget-percent'],
  },
}, (r, report, raw) => {
  // A floor with no budget would silently mean "no retry budget"; say so, as for observe-407 without observe.
  // An explicit `budget-percent: null` is the deliberate off switch.
  if (!Object.hasOwn(raw, 'budget-percent') && Object.hasOwn(raw, 'min-retry-concurrency')) report('min-retry-concurrency', 'only applies when budget-percent is set (without it there is no retry budget)')
}), (r): RetryBudgetConfig | null => (r.budgetPercent === null ? null : { budgetPercent: r.budgetPercent, minRetryConcurrency: r.minRetryConcurrency }))

const tableSize = refine(int(2, MAX_TABLE), (n) => (isPrime(n) ? undefined : `${n} is not prime (try ${nextPrime(n)})`), 'prime integer <= 16777216')

export const pool = obj<PoolConfig>({
  name: { to: 'name', node: str(NAME, 'name (letters, digits, _ . -)'), doc: 'Name listeners use to refer to the pool; unique.', seeAlso: ['listeners[].pool'] },
  policy: {
    to: 'policy', node: oneOf(POLICY_NAMES), default: 'maglev',
    doc: `How a backend is chosen for a new flow: ${POLICY_NAMES.map((n) => `\`${n}\` (${POLICIES[n].doc})`).join('; ')}. ${names(HASHING_POLICIES)} hash \`hash-key\` onto backend ids (consistent: a client keeps its backend while the set is stable); the others do not hash.`,
    seeAlso: ['pools[].hash-key', 'pools[].balance-factor', 'pools[].maglev-table-size'],
  },
  'hash-key': {
    to: 'hashKey', node: oneOf(HASH_KEYS), default: 'src-ip',
    doc: 'What the hashing policies hash: `src-ip` the client address, `src-ip-port` the client address and port, `connect-authority` the target `host:port` of the client\'s HTTP CONNECT request line (RFC 9110 §9.3.6), so every tunnel to one site leaves through one backend (a forward proxy), like HAProxy\'s `balance hdr(host)` for tunnels. With `connect-authority` the balancer reads the client\'s first line before it picks (at most 4096 bytes, within `timeouts.connect-line`), forwards those bytes unchanged, and hashes the client address instead when the first bytes are not a CONNECT line or the line is malformed or oversized; such sessions connect on JavaScript\'s path and go to the native pump once connected.',
    seeAlso: ['pools[].policy', 'timeouts.connect-line'],
  },
  'balance-factor': {
    to: 'balanceFactor', node: refine(num(0, 100), (f) => (f === 0 || f > 1 ? undefined : `${f} must be 0 (off) or greater than 1`), 'number: 0 or > 1'), default: 0,
    doc: `Bounded load for ${names(policiesTaking('balance-factor'))}: no backend takes more than this factor times the mean active connections (e.g. 1.25); 0 turns it off.`,
    seeAlso: ['pools[].policy'],
  },
  'maglev-table-size': {
    to: 'maglevTableSize', node: tableSize, contextDefault: '65537, or the smallest prime ≥ 1000 × backends when larger, at most 1000003 (or the smallest prime ≥ 100 × backends when that is larger)',
    doc: 'Size of the Maglev lookup table: a prime, at least 100 times the number of backends (a smaller table spreads flows unevenly; a larger one moves fewer other keys when a backend leaves).',
    seeAlso: ['pools[].policy', 'pools[].backends'],
  },
  'p2c-latency': { to: 'p2cLatency', node: bool(), default: false, doc: `For ${names(policiesTaking('p2c-latency'))}: compare the two candidates by connect-latency EWMA times active connections instead of active connections.`, seeAlso: ['pools[].policy'] },
  retries: { to: 'retries', node: int(0, 10), default: 2, doc: 'Further backends tried, never the same twice, when a connect fails or times out (only before any byte was forwarded); 0 = one try only.', seeAlso: ['timeouts.connect'] },
  'retry-budget': { to: 'retryBudget', node: retryBudget, default: {}, doc: 'Caps retries to other backends at a share of the pool\'s active connections plus a floor (Envoy\'s retry budget); off unless `budget-percent` is set. Counted in `l4lb_pool_retries_total` and `l4lb_pool_retry_overflow_total`.', seeAlso: ['pools[].retries'] },
  'max-queue': {
    to: 'maxQueue', node: int(0, 100_000), default: 0,
    doc: 'HAProxy\'s `maxconn` queue: when every backend that takes new flows is at its `maxconn`, a new client waits, unread, in a FIFO of at most this many per worker until a backend frees a slot (then it connects, in arrival order) or `timeouts.queue` passes (then it is reset, `queue-timeout`). A client that finds the queue full is reset at once (`no-backend`). 0 = no queue (the default): such a client is reset at once (`no-backend`).',
    seeAlso: ['pools[].backends[].maxconn', 'timeouts.queue'],
  },
  'abort-on-close': {
    to: 'abortOnClose', node: bool(), default: false,
    doc: 'HAProxy\'s `option abortonclose` for the queue: a waiting client is read from (its bytes held, at most 64 KiB) so that its close is seen, and a client that closes (FIN) while queued leaves the queue (`client-closed-early`) instead of being connected to a backend for nobody when a slot frees. Off (the default, as in HAProxy): a waiting client is not read from, so a client that sends its request and half-closes (`shutdown(SHUT_WR)`) still gets its answer; its close is seen only once it is connected.',
    seeAlso: ['pools[].max-queue', 'timeouts.queue'],
  },
  observe: {
    to: 'observe', node: oneOf(['none', 'http-connect'] as const), default: 'none',
    doc: 'Passive health from what backends answer (HAProxy `observe layer7`, for forward proxies): `http-connect` reads each backend\'s first response line as it passes, without changing or holding a byte; `2xx` is a success, `5xx` (and `407` with `observe-407`) a failure, as is no status line within `timeouts.connect` of the client\'s first byte; failures feed passive ejection (`pools[].passive`) like failed connects. Anything that is not an HTTP/1.x status line (TLS, a banner, other codes) counts as neither. The session stays on JavaScript until the line is seen, then goes to the native pump. `none`: only connects count.',
    seeAlso: ['pools[].observe-407', 'pools[].observe-window', 'pools[].passive.consecutive'],
  },
  'observe-407': { to: 'observe407', node: bool(), default: false, doc: 'With `observe: http-connect`, count a `407 Proxy Authentication Required` answer as a failure (a proxy that lost its credentials store); off: a 407 counts as neither.', seeAlso: ['pools[].observe'] },
  'observe-window': {
    to: 'observeWindowMs', node: duration(1000), default: '30s',
    doc: 'With `observe: http-connect`, the sliding window of each backend\'s success rate (successes / answers), cut into 10 buckets so it slides a tenth at a time: shown in `/status`, the status page and `l4lb_backend_observed_success_ratio`, and read by `weigh-by: success-latency`. Envoy\'s success-rate outlier detection counts over its `interval` the same way; HAProxy\'s `observe layer7` keeps only a run of errors. A backend with no answer in the window has no rate (null, "no data").',
    seeAlso: ['pools[].observe', 'pools[].weigh-by'],
  },
  'weigh-by': {
    to: 'weighBy', node: oneOf(WEIGH_BY), default: 'none',
    doc: `For ${names(policiesTaking('weigh-by'))}, with \`observe: http-connect\`: \`success-latency\` multiplies each backend's weight by its CONNECT success rate over \`observe-window\` and divides it by the time a client waits for its tunnel (EWMA of the connect to the proxy plus EWMA of the proxy's 2xx CONNECT answer, timed from the client's first byte at the proxy), so a proxy that accepts connections but answers 503 loses new flows within seconds while its TCP check still passes (Envoy's least-request active-request bias and success-rate outlier detection, HAProxy's \`observe layer7\`, as a weight rather than an ejection). \`p2c\` duels on weight × success rate / (latency × (active + 1)); \`random\` draws in proportion to weight × success rate / latency. The rate used is (successes + 1) / (answers + 1): 1 with no data, never 0, so a failing proxy keeps a trickle of flows that sees it recover. Latencies under 1 ms count as 1 ms (below that the difference is scheduling noise); a backend with no latency yet is compared on the rest. See docs/backend-states.md. \`none\`: weights as configured.`,
    seeAlso: ['pools[].observe-window', 'pools[].p2c-latency', 'pools[].passive'],
  },
  slowstart: { to: 'slowstartMs', node: duration(), default: '0s', doc: 'A backend coming up ramps its weight from 0 to full over this time; 0 = off (full weight at once).', seeAlso: ['pools[].backends[].weight'] },
  'send-proxy': { to: 'sendProxy', node: oneOf(SEND_PROXY), default: 'none', doc: 'PROXY protocol header (`v1` text, `v2` binary) sent to backends so they see the client address; `none` sends none.', seeAlso: ['pools[].backends[].send-proxy', 'listeners[].proxy-protocol'] },
  backends: { to: 'backends', node: list(backend, 1, 'a pool needs at least one backend', LIMITS.backendsPerPool), doc: 'The backends of the pool.', seeAlso: ['pools[].backends[].id'] },
  health: { to: 'health', node: health, default: {}, doc: 'Active health checks, shared by all workers.', seeAlso: ['pools[].passive'] },
  passive: { to: 'passive', node: passive, default: {}, doc: 'Passive ejection of backends whose connects keep failing.', seeAlso: ['pools[].health'] },
}, checkPool)

function checkPool(p: Loose<PoolConfig>, report: Report, raw: Readonly<Record<string, unknown>>): void {
  const backends = p.backends
  if (backends !== undefined) {
    const seen = new Map<string, number>()
    const addresses = new Map<string, number>()
    backends.forEach((b, i) => {
      if (b === undefined) return
      if (p.sendProxy !== undefined && b.sendProxy === undefined) b.sendProxy = p.sendProxy
      if (b.id === undefined) return
      const first = seen.get(b.id)
      if (first !== undefined) return report(`backends[${i}].id`, `duplicate backend id "${b.id}" (also backends[${first}])`)
      seen.set(b.id, i)
      if (b.host === undefined || b.port === undefined) return
      // The same address under two ids is one backend counted twice (checks, maxconn, ejection).
      const addr = formatHostPort(canonicalHost(b.host), b.port)
      const other = addresses.get(addr)
      if (other === undefined) addresses.set(addr, i)
      else {
        const was = backends[other]!
        report(`backends[${i}].host`, `${formatHostPort(b.host, b.port)} is the same address as backends[${other}] (${formatHostPort(was.host!, was.port!)}); list a backend once and give it a weight`)
      }
    })
  }
  if (p.maglevTableSize === undefined && backends !== undefined) p.maglevTableSize = defaultMaglevTableSize(backends.length)
  if (p.policy !== undefined && takesOption(p.policy, 'maglev-table-size') && backends !== undefined && p.maglevTableSize !== undefined) {
    const min = minMaglevTableSize(backends.length)
    if (p.maglevTableSize < min) {
      report('maglev-table-size', `${p.maglevTableSize} is too small for ${backends.length} backends (minimum ${min}; ${nextPrime(min)} is the next prime)`)
    }
  }
  // A queue or a budget that can never act is a mistake the user should hear of, as HAProxy warns of maxqueue without maxconn.
  if (p.maxQueue !== undefined && p.maxQueue > 0 && backends !== undefined && backends.every((b) => b === undefined || b.maxconn === 0)) {
    report('max-queue', 'only applies when a backend has maxconn > 0 (a client queues when every backend is at its maxconn)')
  }
  if (p.abortOnClose === true && p.maxQueue === 0) report('abort-on-close', 'only applies with a queue (max-queue > 0)')
  if (p.observe407 === true && p.observe !== undefined && p.observe !== 'http-connect') report('observe-407', `only applies with observe: http-connect (observe is ${p.observe})`)
  if (Object.hasOwn(raw, 'observe-window') && p.observe !== undefined && p.observe !== 'http-connect') report('observe-window', `only applies with observe: http-connect (observe is ${p.observe})`)
  if (p.weighBy !== undefined && p.weighBy !== OFF['weigh-by'] && p.observe !== undefined && p.observe !== 'http-connect') report('weigh-by', `${p.weighBy} needs observe: http-connect (observe is ${p.observe})`)
  if (p.hashKey === 'connect-authority' && p.policy !== undefined && !(HASHING_POLICIES as readonly string[]).includes(p.policy)) report('hash-key', `connect-authority only applies to the hashing policies ${HASHING_POLICIES.join(', ')} (policy is ${p.policy})`)
  if (p.retryBudget != null && p.retries === 0) report('retry-budget.budget-percent', 'only applies when retries > 0')
  for (const [option, value] of [['balance-factor', p.balanceFactor], ['p2c-latency', p.p2cLatency], ['weigh-by', p.weighBy]] as const) {
    if (value === undefined || value === OFF[option] || p.policy === undefined || takesOption(p.policy, option)) continue
    const takers = policiesTaking(option)
    report(option, `only applies to ${takers.length === 1 ? 'policy' : 'policies'} ${takers.join(', ').replace(/, ([^,]*)$/, ' and $1')} (policy is ${p.policy})`)
  }
}

/** The value of each restricted pool key that means "unused": any other value needs a policy that takes it. */
export const OFF = { 'balance-factor': 0, 'p2c-latency': false, 'weigh-by': 'none' } as const satisfies Partial<Record<PolicyOption, unknown>>

/** `a`, `a` and `b`, `a`, `b` and `c` (code-formatted names for docs). */
export function names(list: readonly string[]): string {
  return list.map((n) => `\`${n}\``).join(', ').replace(/, ([^,]*)$/, ' and $1')
}
