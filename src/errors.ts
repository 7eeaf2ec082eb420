// One registry of stable codes. The data path never throws: it ends a
// connection with a termination reason and counts it. Codes are never reused;
// a retired code stays here marked retired. docs/errors.md lists them all and
// test/errors.test.ts checks registry and docs agree.

/** Why a proxied connection ended: one per closed connection, in its log line. */
export const TERMINATIONS = {
  'client-closed': { flag: 'CD', text: 'the client closed first and the server finished' },
  'server-closed': { flag: 'SD', text: 'the server closed first and the client finished' },
  'client-reset': { flag: 'cR', text: 'the client reset or errored' },
  'server-reset': { flag: 'sR', text: 'the server reset or errored after connecting' },
  'idle-timeout': { flag: 'cT', text: 'no bytes either way for timeouts.idle' },
  'half-closed-timeout': { flag: 'hT', text: 'one side had half-closed and no byte moved either way for timeouts.half-closed' },
  'connect-failed': { flag: 'sC', text: 'every backend tried refused, failed or timed out' },
  'no-backend': { flag: 'NB', text: 'no backend could take the flow (all down, drained, full or tried)' },
  'client-closed-early': { flag: 'CC', text: 'the client went away before a backend connected' },
  'queue-timeout': { flag: 'sQ', text: 'waited timeouts.queue in the pool\'s queue (every backend at maxconn) without getting a backend' },
  'connect-line-timeout': { flag: 'cL', text: 'the client\'s CONNECT line (hash-key connect-authority) was not finished within timeouts.connect-line' },
  // Retired: a rejected PROXY header ends before a session exists, so no
  // connection line ever carried it (the "PROXY header rejected" line has a
  // PROXY_* code instead). Kept so the reason and flag are never reused.
  'proxy-error': { flag: 'PR', text: 'retired: never produced; a rejected PROXY header is logged as "PROXY header rejected" with a PROXY_* code', retired: true },
  'hard-stop': { flag: 'KS', text: 'killed by hard-stop-after or the shutdown deadline' },
} as const

type Terminations = typeof TERMINATIONS

/** A reason a session can end with: every entry of TERMINATIONS not marked retired. */
export type Termination = { [K in keyof Terminations]: Terminations[K] extends { retired: true } ? never : K }[keyof Terminations]

/** The live (not retired) termination reasons, in registry order. */
export const LIVE_TERMINATIONS: readonly Termination[] = Object.freeze(
  (Object.keys(TERMINATIONS) as (keyof Terminations)[]).filter((k): k is Termination => !('retired' in TERMINATIONS[k])),
)

/** Process-level error codes (config, admin, cluster). */
export const ERRORS = {
  LB_ERR_CONFIG_INVALID: 'the configuration failed validation; every problem is listed with its key path',
  LB_ERR_CONFIG_READ: 'the configuration file could not be read',
  LB_ERR_LISTEN: 'a listener or the admin API could not bind its address (in use by another process or another l4lb, not local, privileged port): the message names it, the address and the errno; `run` exits 1, a reload is rejected',
  LB_ERR_EMFILE: 'out of file descriptors while accepting: waiting connections are accepted and closed (libuv), logged at most once a second; service resumes when descriptors free up',
  LB_ERR_WORKER_EXIT: 'a worker exited unexpectedly and is being replaced (with backoff); one that exits before it first listened fails the start instead (exit 1)',
  LB_ERR_RELOAD_REJECTED: 'a reload was rejected, all or nothing: an invalid config, a new listener that cannot bind (checked by the primary, then by every worker), or a change of `admin.bind`/`admin.enabled`; the running configuration keeps serving, `config.lastError` and `l4lb_config_reload_failures_total` show it',
  LB_ERR_ADMIN_AUTH: 'the admin API refused a request without a valid token',
  LB_ERR_FLEET_STORE: 'the fleet store (etcd) could not be reached, or held no fleet config, and no last-known-good config could stand in: `run` of a fleet node exits 1; `fleet push` and `fleet status` exit 1 when the store is unreachable; the message names the endpoints and the connection\'s last error',
} as const

export type ErrorCode = keyof typeof ERRORS

/**
 * Every process-level code as a constant: call sites write `CODES.LB_ERR_LISTEN`,
 * never the string itself, so a code that is not in ERRORS does not compile
 * and test/errors.test.ts can check that src/ spells none by hand (as
 * fastify's createError binds each FST_ERR_* code to one definition).
 */
export const CODES: { readonly [K in ErrorCode]: K } = Object.freeze(
  Object.fromEntries(Object.keys(ERRORS).map((k) => [k, k])) as { [K in ErrorCode]: K },
)
