// Stage 3 of the native engine: the pump accepts on plain listeners and
// JavaScript decides. A batch of accepted clients (descriptor, address, port)
// arrives in one completion call; for each, the listener counts it and checks
// maxconn, and a Session is made with no Node socket; the pick, the queue and
// the PROXY header are connect.ts's and queueing.ts's as for any session;
// then every decision of the batch goes back in one crossing
// (NativePump.decide): connect the picked backend (stage 2 from there on:
// retries, outcomes, the ending), park a queued client in the pump until a
// slot frees (connectTo then retries it natively), or reset a refused one.
// A client the pump cannot take, or whose listener no longer qualifies (a
// reload changed its pool meanwhile), becomes a Node socket and is served by
// the JavaScript engine from the start (counted as a fallback): nothing is lost.
import net from 'node:net'
import { closeSync } from 'node:fs'
import { hashFlow } from '../balancer/hash.ts'
import type { ListenerConfig } from '../config/types.ts'
import type { BackendRuntime } from './backend-runtime.ts'
import { proxyHeader, startSession } from './connect.ts'
import {
  type AcceptedClient,
  DECIDE_CONNECT,
  DECIDE_FIELDS,
  DECIDE_PARK,
  DECIDE_RESET,
  type NativeListenerOwner,
  type NativePump,
} from './native-engine.ts'
import type { PoolRuntime } from './pool-runtime.ts'
import { enqueue, leaveQueue, othersWaiting } from './queueing.ts'
import { kSession, REFUSED, type Session, type Tagged } from './session.ts'
import { finish } from './splice.ts'

/** A listener the pump accepts for (src/proxy/listener.ts). */
export interface NativeAcceptHost extends NativeListenerOwner {
  /**
   * A linked, counted session for an accepted client with no Node socket
   * (`localAddr`: the address it connected to), or null when this worker's
   * share of maxconn is reached (counted as rejected; the caller resets it).
   */
  nativeSession(addr: string, port: number, localAddr: string, localPort: number): Session | null
  /** Its clients can still be served natively (a reload may have changed its pool since they were accepted). */
  readonly acceptsNatively: boolean
}

/**
 * Whether a listener's clients can be accepted by `pump`: a plain listener
 * (no PROXY header to read) whose pool the pump can connect (IP literals)
 * and that reads no first bytes (hash-key connect-authority, observe
 * http-connect keep JavaScript's accept: the seam the issue leaves), nor
 * reads a waiting client to see its close (a queue with abort-on-close: a
 * client parked in the pump is not read from).
 */
export function canAcceptNatively(pump: NativePump | null, config: ListenerConfig, pool: PoolRuntime): boolean {
  return pump !== null && pump.accepts && pump.connects && !config.proxyProtocol.enabled && pool.nativeConnect &&
    pool.config.hashKey !== 'connect-authority' && pool.config.observe === 'none' && !(pool.config.abortOnClose && pool.config.maxQueue > 0)
}

/** Have `pump` accept on listening socket `fd` for `host`: its tag and dup descriptor, or null (stay on JavaScript). */
export function listenNatively(pump: NativePump, host: NativeAcceptHost, fd: number): { tag: number; fd: number } | null {
  pump.onAccepted ??= (clients) => serveAccepted(pump, clients)
  return pump.listen(host, fd)
}

/** The first pick of a natively accepted session: a backend, 'queued' (waits in the pool's queue), or undefined (none). */
function firstPick(s: Session): BackendRuntime | 'queued' | undefined {
  const pool = s.host.pool
  s.hash = hashFlow(pool.config.hashKey, s.clientAddr, s.clientPort)
  // A new client queues behind those already waiting (arrival order), as connect.ts does.
  const b = othersWaiting(pool) ? undefined : pool.picker.pick(s.hash, s.tried)
  if (b !== undefined) return b
  const queued = enqueue(s)
  if (queued === 'queued') return 'queued'
  if (queued === 'no-queue' && othersWaiting(pool)) return pool.picker.pick(s.hash, s.tried) // the pool lost its backends
  return undefined
}

/**
 * Serve a batch of clients the pump accepted (NativePump.onAccepted): every
 * decision first (so the picks of the batch see each other's load), then one
 * crossing, then what the answers mean. Never throws.
 */
export function serveAccepted(pump: NativePump, clients: readonly AcceptedClient[]): void {
  const records = new Float64Array(clients.length * DECIDE_FIELDS)
  const hosts: string[] = []
  const toServer: (Buffer | null)[] = []
  const sessions: (Session | null)[] = []
  const onJs: [Session, number][] = []
  for (const c of clients) {
    const host = c.owner as NativeAcceptHost | undefined
    const s = host === undefined ? null : host.nativeSession(c.addr, c.port, c.localAddr, c.localPort)
    if (s !== null && !host!.acceptsNatively) {
      onJs.push([s, c.fd])
      continue
    }
    const r = sessions.length * DECIDE_FIELDS
    records[r] = c.fd
    records[r + 1] = DECIDE_RESET
    sessions.push(s)
    hosts.push('')
    toServer.push(null)
    if (s === null) continue // maxconn (or its listener is gone): reset, as JavaScript's accept does
    const t = s.host.timeouts
    records[r + 4] = t.idleMs
    records[r + 5] = t.halfClosedMs
    const b = firstPick(s)
    if (b === 'queued') {
      records[r + 1] = DECIDE_PARK
      continue
    }
    if (b === undefined) {
      s.reason = 'no-backend' // reset below, logged as on JavaScript
      continue
    }
    // Counted now, so the next picks of this batch see its load (least-conn, maxconn, bounded load).
    s.backend = b
    b.load.active++
    s.host.pool.poolLoad.active++
    records[r + 1] = DECIDE_CONNECT
    records[r + 2] = b.port
    records[r + 3] = t.connectMs
    hosts[hosts.length - 1] = b.host
    toServer[toServer.length - 1] = proxyHeader(s, b)
  }
  const n = sessions.length
  const ids = n === 0 ? null : pump.decide(n * DECIDE_FIELDS === records.length ? records : records.subarray(0, n * DECIDE_FIELDS), hosts, toServer)
  for (let i = 0; i < n; i++) {
    const s = sessions[i]
    if (s === null) {
      if (ids === null) closeQuietly(records[i * DECIDE_FIELDS]!)
      continue
    }
    const kind = records[i * DECIDE_FIELDS + 1]
    if (kind === DECIDE_RESET) {
      if (ids === null) closeQuietly(records[i * DECIDE_FIELDS]!)
      finish(s)
      continue
    }
    const id = ids === null ? -1 : ids[i]! | 0 // ids fit 31 bits (native/pump.h PUMP_GEN_MASK): kept unboxed
    if (id >= 0) {
      s.native = pump
      s.nativeId = id
      pump.own(s, id, true)
      continue
    }
    // The pump could not take it (out of slots or descriptors): JavaScript serves it, its descriptor is still ours.
    if (kind === DECIDE_CONNECT) {
      s.backend!.load.active--
      s.host.pool.poolLoad.active--
      s.backend = null
    } else leaveQueue(s)
    pump.fellBack()
    serveOnJs(s, records[i * DECIDE_FIELDS]!)
  }
  for (const [s, fd] of onJs) serveOnJs(s, fd)
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd)
  } catch {
    // already closed
  }
}

/** Serve `s` on the JavaScript engine: its client becomes a Node socket on `fd`, then the session starts as any other. */
function serveOnJs(s: Session, fd: number): void {
  let sock: Tagged
  try {
    sock = new net.Socket({ fd, allowHalfOpen: true, readable: true, writable: true })
  } catch {
    closeQuietly(fd)
    s.reason = 'hard-stop'
    return finish(s)
  }
  sock[kSession] = s
  s.client = sock
  s.nativeId = REFUSED // not offered to the pump again at its connect
  startSession(s, null)
}
