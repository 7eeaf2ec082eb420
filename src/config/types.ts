// The normalised, validated configuration. The YAML uses kebab-case keys
// (`hash-key`, `balance-factor`, `hard-stop-after`); src/config/schema.ts maps
// them onto these camelCase fields, fills defaults and deep-freezes the result.
// Durations are milliseconds here (the YAML accepts "5s", "250ms", "2m" or a
// number of milliseconds).

import type { PolicyName, WeighBy } from '../balancer/policies.ts'
import type { HashKeyKind } from '../balancer/hash.ts'
import type { HealthCheckType } from './check-kinds.ts'
import type { CODES } from '../errors.ts'

// Names defined by their tables: policies and hash keys in src/balancer
// (policies.ts, hash.ts), health-check kinds in check-kinds.ts.
export type { PolicyName, HashKeyKind, HealthCheckType }
export type SendProxy = 'none' | 'v1' | 'v2'
/** Which engine moves established sessions' bytes (src/proxy/native-engine.ts). */
export type EngineChoice = 'auto' | 'js' | 'native'

export interface HostPort {
  readonly host: string // IPv4 literal, IPv6 literal (no brackets) or hostname
  readonly port: number
}

export interface ProxyAcceptConfig {
  readonly enabled: boolean
  readonly trusted: readonly string[] // CIDRs allowed to send a PROXY header
  readonly timeoutMs: number // header must be complete within this time
}

export interface ListenerConfig {
  readonly name: string // default `listener-<index>`
  readonly bind: HostPort
  readonly pool: string // pool name; default the first pool
  readonly maxconn: number // 0 = unlimited
  readonly proxyProtocol: ProxyAcceptConfig
}

/**
 * HAProxy's agent check on one backend (`agent-check`, `agent-port`,
 * `agent-addr`, `agent-inter`, `agent-send`): src/health/agent-poller.ts.
 */
export interface AgentConfig {
  readonly host: string | null // agent-addr; null = the backend's host
  readonly port: number // agent-port
  readonly intervalMs: number // agent-inter
  readonly timeoutMs: number // one poll: connect + the whole line
  readonly send: string | null // agent-send: bytes written after connecting; null = nothing
}

export interface BackendConfig {
  readonly id: string // stable identity, default `host:port` ([v6]:port)
  readonly host: string
  readonly port: number
  readonly weight: number // integer 0..256, default 1 (0 = takes no new flows)
  readonly backup: boolean
  readonly maxconn: number // 0 = unlimited
  readonly sendProxy: SendProxy // default: the pool's send-proxy
  readonly agent: AgentConfig | null // null = no agent check (default)
}

export interface HttpCheckConfig {
  readonly method: string
  readonly path: string
  readonly host: string | null // Host header; default the backend address
  readonly expectStatus: readonly [number, number] // inclusive range, default [200, 399]
}

export interface HealthConfig {
  readonly type: HealthCheckType
  readonly intervalMs: number
  readonly fastIntervalMs: number // used while a backend is changing state
  readonly timeoutMs: number
  readonly fall: number
  readonly rise: number
  readonly jitter: number // 0..1, fraction of interval
  readonly http: HttpCheckConfig
  readonly connectTarget: HostPort | null // for type 'connect': CONNECT host:port through the backend
}

export interface PassiveConfig {
  readonly consecutive: number // 0 = passive ejection off
  readonly baseEjectionMs: number
  readonly maxEjectionMs: number
  readonly maxEjectionPercent: number // 0..100
}

/** Envoy's retry budget (`retry_budget`): concurrent retries per worker capped at max(min, percent × active / 100). */
export interface RetryBudgetConfig {
  readonly budgetPercent: number // 0..100, of the pool's active connections plus queued clients
  readonly minRetryConcurrency: number // floor of the cap
}

export interface PoolConfig {
  readonly name: string
  readonly policy: PolicyName
  readonly hashKey: HashKeyKind
  readonly balanceFactor: number // 0 = bounded load off, else > 1 (e.g. 1.25)
  readonly maglevTableSize: number // prime, >= 100 x backends
  readonly p2cLatency: boolean // weight p2c by connect-latency EWMA
  readonly retries: number // extra backends tried after the first
  readonly slowstartMs: number
  readonly sendProxy: SendProxy
  readonly retryBudget: RetryBudgetConfig | null // null = off: every failed connect may retry (up to `retries`)
  readonly maxQueue: number // clients waiting per worker when every backend is at maxconn; 0 = no queue
  readonly abortOnClose: boolean // a queued client that closes (FIN) leaves the queue instead of being connected later
  readonly observe: 'none' | 'http-connect' // read each backend's first response line as passive health
  readonly observe407: boolean // with observe http-connect: a 407 answer is a failure
  readonly observeWindowMs: number // sliding window of the observed success rate (ms)
  readonly weighBy: WeighBy // p2c, random: 'success-latency' weighs backends by success rate / latency EWMA
  readonly backends: readonly BackendConfig[]
  readonly health: HealthConfig
  readonly passive: PassiveConfig
}

export interface TimeoutsConfig {
  readonly connectMs: number
  readonly idleMs: number
  readonly halfClosedMs: number
  readonly queueMs: number // longest wait in a pool's queue (max-queue)
  readonly connectLineMs: number // longest wait for a client's CONNECT line (hash-key connect-authority)
}

export interface AdminConfig {
  readonly enabled: boolean
  readonly bind: HostPort // default 127.0.0.1:9090
  readonly token: string | null // required when bind is not loopback
}

export interface ShutdownConfig {
  readonly drainMs: number // SIGTERM: how long established connections may finish
  readonly hardStopAfterMs: number // reload/drain: upper bound for drained connections
}

export interface LogConfig {
  readonly level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'
  readonly connections: boolean // one line per closed connection
}

export interface Config {
  readonly workers: number // 0 in YAML means "number of CPUs"; normalised to >= 1
  readonly listeners: readonly ListenerConfig[]
  readonly pools: readonly PoolConfig[]
  readonly timeouts: TimeoutsConfig
  readonly admin: AdminConfig
  readonly shutdown: ShutdownConfig
  readonly log: LogConfig
  readonly engine: EngineChoice // auto = native when the addon loads
  readonly fleet: FleetConfig | null // null: no fleet (this node alone)
}

/** One validation problem: `path` like `listeners[0].bind`, message without the path. */
export interface ConfigError {
  readonly path: string
  readonly message: string
}

/** Why a config was refused (src/errors.ts): it could not be read, or it failed validation. */
export type ConfigFailureCode = typeof CODES.LB_ERR_CONFIG_READ | typeof CODES.LB_ERR_CONFIG_INVALID

export type ConfigResult =
  | { readonly ok: true; readonly config: Config }
  | { readonly ok: false; readonly code: ConfigFailureCode; readonly errors: readonly ConfigError[] }

/** TLS towards etcd: PEM file paths (read when the client is made). */
export interface FleetTlsConfig {
  readonly ca: string
  readonly cert: string | null
  readonly key: string | null
}

/** etcd user/password auth. */
export interface FleetAuthConfig {
  readonly user: string
  readonly password: string
}

/**
 * The `fleet:` section (src/fleet/): this node's place in a fleet that shares
 * pools, timeouts and health through etcd. Null when absent (l4lb alone).
 */
export interface FleetConfig {
  readonly endpoints: readonly string[] // http(s)://host:port of etcd members
  readonly prefix: string // every fleet key starts with it, e.g. "/l4lb"
  readonly node: string // this node's name in the fleet (default: the host name)
  readonly tls: FleetTlsConfig | null
  readonly auth: FleetAuthConfig | null
  readonly leaseTtlMs: number // whole seconds: etcd leases count in seconds
  readonly pollIntervalMs: number // full read of the config key behind the watch
  readonly staleAfterMs: number // health results older than this: probe locally
  readonly stateFile: string // last-known-good fleet config on disk
}
