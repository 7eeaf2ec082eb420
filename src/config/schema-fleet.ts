// The `fleet:` section: where the fleet store (etcd) is and how this node
// takes part. Node-local settings stay in the file; with `fleet:` set, pools
// and timeouts come from the store key `<prefix>/config` (docs/fleet.md).
import { hostname } from 'node:os'
import type { FleetAuthConfig, FleetConfig, FleetTlsConfig } from './types.ts'
import { list, nullable, obj, refine } from './dsl.ts'
import { duration, str } from './scalars.ts'
import { NAME } from './schema-pool.ts'

const ENDPOINT = /^https?:\/\/[^\s/]+$/
const PREFIX = /^\/[A-Za-z0-9_.\-/]{0,120}$/

const tls = obj<FleetTlsConfig>({
  ca: { to: 'ca', node: str(), doc: 'PEM file of the CA that signed the etcd members\' certificates.', seeAlso: ['fleet.endpoints'] },
  cert: { to: 'cert', node: nullable(str()), default: null, doc: 'PEM client certificate (etcd `--client-cert-auth`); with `key`.', seeAlso: ['fleet.tls.key'] },
  key: { to: 'key', node: nullable(str()), default: null, doc: 'PEM private key of `cert`.', seeAlso: ['fleet.tls.cert'] },
}, (t, report) => {
  if ((t.cert === null) !== (t.key === null) && t.cert !== undefined && t.key !== undefined) report(t.cert === null ? 'cert' : 'key', 'cert and key go together')
})

const auth = obj<FleetAuthConfig>({
  user: { to: 'user', node: str(), doc: 'etcd user name.', seeAlso: ['fleet.auth.password'] },
  password: { to: 'password', node: str(), doc: 'Its password.', seeAlso: ['fleet.auth.user'] },
})

/** A lease TTL in whole seconds (etcd grants leases in seconds), 1..60 s. */
const leaseTtl = refine(duration(1000), (ms) => (ms % 1000 !== 0 ? `${ms}ms is not a whole number of seconds` : ms > 60_000 ? `${ms}ms is over 60s` : undefined), 'duration, whole seconds 1s..60s')

export const fleet = obj<FleetConfig>({
  endpoints: {
    to: 'endpoints', node: list(refine(str(), (v) => (ENDPOINT.test(v) ? undefined : `"${v}" is not http://host:port or https://host:port`)), 1, 'at least one etcd endpoint is required'),
    doc: 'etcd client URLs (`http://10.0.0.1:2379`; `https://` with `tls`). The client spreads calls over them and moves on when one fails.',
    seeAlso: ['fleet.tls'],
  },
  prefix: { to: 'prefix', node: str(PREFIX, 'key prefix (/ then letters, digits, _ . - /)'), default: '/l4lb', doc: 'The fleet\'s keys: `<prefix>/config` (the shared config), `<prefix>/health` (the leader\'s decisions), `<prefix>/nodes/<node>`, and the election\'s `election/<prefix without its leading />/health-leader/<lease>` (etcd3\'s `Election` puts its own `election/` in front: `election/l4lb/health-leader/...`). Two fleets on one etcd need two prefixes.', seeAlso: ['fleet.node'] },
  node: { to: 'node', node: str(NAME, 'name (letters, digits, _ . -)'), contextDefault: 'the host name', doc: 'This node\'s name in the fleet: in `l4lb fleet status`, the election and the leader\'s results. Unique in the fleet.', seeAlso: ['fleet.prefix'] },
  tls: { to: 'tls', node: nullable(tls), default: null, doc: 'TLS towards etcd; null = plain TCP.', seeAlso: ['fleet.endpoints'] },
  auth: { to: 'auth', node: nullable(auth), default: null, doc: 'etcd user/password authentication; null = none.', seeAlso: ['fleet.tls'] },
  'lease-ttl': { to: 'leaseTtlMs', node: leaseTtl, default: '3s', doc: 'TTL of this node\'s etcd lease (election and node record). When the health leader dies, another node takes over within about this time (a leader stopped by SIGTERM resigns: at once). etcd raises a TTL below its own minimum (1.5 × its election timeout, rounded up: 2s with etcd\'s defaults).', seeAlso: ['fleet.stale-after'] },
  'poll-interval': { to: 'pollIntervalMs', node: duration(100), default: '10s', doc: 'Besides watching the config key, read it in full this often (±20% jitter), so a watch that silently stalls costs at most one interval.', seeAlso: ['fleet.prefix'] },
  'stale-after': { to: 'staleAfterMs', node: duration(300), default: '2s', doc: 'The leader publishes its results at least every third of this; a node that has seen no update for this long (on its monotonic clock: a wall-clock step changes nothing) probes the backends itself (fallback) until the results flow again.', seeAlso: ['fleet.lease-ttl'] },
  'state-file': { to: 'stateFile', node: str(), default: '/var/lib/l4lb/fleet-config.yaml', doc: 'Where this node keeps the last fleet config it applied (written atomically). Used at start when the store cannot be read.', seeAlso: ['fleet.prefix'] },
}, (f, _report) => {
  if (f.node === undefined && !Object.hasOwn(f, 'node')) f.node = defaultNode()
})

/** The host name cut to a valid node name. */
function defaultNode(): string {
  const h = hostname().replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '')
  return h === '' ? 'l4lb' : h.slice(0, 63)
}

/** Keys of the shared part: in the store with `fleet:`, in the file without. */
export const SHARED_KEYS = ['pools', 'timeouts'] as const
