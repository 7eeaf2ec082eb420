// The fleet store: an etcd3 client made from the `fleet:` section, and the
// keys every node agrees on. Calls carry a deadline so a dead store fails a
// call in STORE_CALL_MS instead of hanging the control loops behind it.
import { readFileSync } from 'node:fs'
import { circuitBreaker, ConsecutiveBreaker, handleWhen, noop, retry } from 'cockatiel'
import { Etcd3, isRecoverableError, type IOptions } from 'etcd3'
import type { FleetConfig } from '../config/types.ts'

/** Deadline of one unary etcd call (ms); watches and keep-alives are streams and have none. */
export const STORE_CALL_MS = 1500

/**
 * etcd3's default keeps a failed member's circuit open 5 s: a store that
 * comes back would be seen that late. A fleet node retries a member after
 * STORE_RETRY_MS (its polls, not the watches, notice a store that is back).
 */
export const STORE_RETRY_MS = 500

export interface FleetKeys {
  readonly config: string // the shared part (YAML), written by `l4lb fleet push`
  readonly health: string // the leader's decided states (JSON, health-doc.ts)
  readonly election: string // election name (etcd3 keeps candidates under election/<name>/)
  readonly nodes: string // prefix of one record per node (JSON, with the node's lease)
}

/** The keys under `prefix` (no trailing slash). */
export function fleetKeys(prefix: string): FleetKeys {
  const p = prefix.replace(/\/+$/, '')
  // etcd3 keeps candidates under `election/<name>/`: the name without the leading "/" (no "election//").
  return { config: `${p}/config`, health: `${p}/health`, election: `${p.replace(/^\/+/, '')}/health-leader`, nodes: `${p}/nodes/` }
}

/**
 * A client for `f` (TLS files read now: throws with the file's error when one
 * is unreadable). Each unary call has a deadline of STORE_CALL_MS and, unless
 * `opts.retry` is false, up to two more attempts on a recoverable error (the
 * nodes' control loops; `fleet push` writes once). The caller closes it.
 */
export function fleetClient(f: Pick<FleetConfig, 'endpoints' | 'tls' | 'auth'>, opts: { retry?: boolean } = {}): Etcd3 {
  const options: IOptions = {
    hosts: [...f.endpoints],
    dialTimeout: STORE_CALL_MS,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + STORE_CALL_MS }),
    faultHandling: {
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: STORE_RETRY_MS, breaker: new ConsecutiveBreaker(3) }),
      // opts.retry false: one attempt per call (a write's outcome is then the one error it got,
      // not that of a second attempt after a first that may still be committed).
      global: opts.retry === false ? noop : retry(handleWhen(isRecoverableError), { maxAttempts: 2 }),
    },
  }
  if (f.tls !== null) {
    options.credentials = {
      rootCertificate: readFileSync(f.tls.ca),
      ...(f.tls.cert !== null && f.tls.key !== null ? { certChain: readFileSync(f.tls.cert), privateKey: readFileSync(f.tls.key) } : {}),
    }
  }
  if (f.auth !== null) options.auth = { username: f.auth.user, password: f.auth.password }
  return new Etcd3(options)
}

/**
 * The message of a store error, one line, without gRPC's trailing
 * "Resolution note: " (empty for a refused connection) and the doubled
 * "Error: " of its last error: "14 UNAVAILABLE: No connection established.
 * Last error: connect ECONNREFUSED 127.0.0.1:2379".
 */
export function storeError(err: unknown): string {
  const line = (err instanceof Error ? err.message : String(err)).split('\n')[0]
  // etcd3 words a lease whose keep-alives went unanswered as "Lease <its own sentence> is expired or revoked".
  if (/^Lease We lost connection to etcd/.test(line)) return `lease expired: no keep-alive was answered within the lease TTL (store unreachable)`
  // cockatiel's breaker opens after failed calls to every member; the call was not sent.
  if (/circuit breaker is open/.test(line)) return `no store member answered recent calls (the client tries them again every ${STORE_RETRY_MS} ms); not sent`
  return line.replace(/\.?\s*Resolution note:.*$/, '').replace(/Last error: Error: /, 'Last error: ').trim()
}

/**
 * Did a failed write certainly not happen ('not-written'), or may it still be
 * committed ('unknown')? etcd can commit a proposal after the client gave up
 * on it (a deadline or "request timed out" while the store had no quorum: the
 * member holding it commits it once quorum is back), so only a call that
 * never reached a member (no connection established, the client's circuit
 * breaker open) or that was refused before any proposal (invalid argument,
 * too large, too many requests, permission, auth) is 'not-written'. Takes any
 * thrown value; returns the verdict.
 */
export function writeOutcome(err: unknown): 'not-written' | 'unknown' {
  const m = err instanceof Error ? err.message : String(err)
  // Never sent: no connection, or the client's circuit breaker for every member is open.
  if (/No connection established|ECONNREFUSED|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|circuit breaker is open/.test(m)) return 'not-written'
  // Refused before a proposal: gRPC's size limit, etcd's "too many requests", bad arguments, auth.
  if (/^(3 INVALID_ARGUMENT|7 PERMISSION_DENIED|8 RESOURCE_EXHAUSTED|9 FAILED_PRECONDITION|16 UNAUTHENTICATED)\b/.test(m)) return 'not-written'
  if (/request is too large|permission denied|authentication failed|invalid auth token|user name is empty/i.test(m)) return 'not-written'
  return 'unknown'
}
