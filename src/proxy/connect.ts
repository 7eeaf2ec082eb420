// A session's first half: choose a backend, connect with a deadline, retry
// another backend when the connect fails (never one already tried, at most
// `retries` more), and hold what the client sends meanwhile (past HOLD_MAX
// the client is paused). Reading the client's CONNECT line before the pick
// (hash-key connect-authority) is connect-scan.ts's; reading the backend's
// answer after the connect (observe http-connect) is observe.ts's. Each failed connect, and the first success after
// failures, is one passive-health report. On connect the PROXY header and the
// held bytes go out and the session is handed to splice.ts. With the native
// engine's stage 2 (native-connect.ts) the pump makes each connect attempt
// instead and reports its outcome here: the choices stay in this file.
import net from 'node:net'
import { hashFlow } from '../balancer/hash.ts'
import type { ConnectOutcome } from '../health/types.ts'
import { encodeProxyV1, encodeProxyV2 } from '../net/proxy-protocol/encode.ts'
import { type BackendRuntime, recordLatency } from './backend-runtime.ts'
import { abort, CONNECTING, kSession, NONE, OPEN, REFUSED, type Session, type Tagged } from './session.ts'
import { checkScan, onScanData, scanEarly, scansConnectLine, startScan } from './connect-scan.ts'
import { checkObserved, observes, startObserving } from './observe.ts'
import {
  checkDataTimeouts,
  finish,
  onClientClose,
  onClientData,
  onClientDrain,
  onClientEnd,
  onClientError,
  onServerData,
  onServerDrain,
  onServerEnd,
  serverClosed,
  serverErrored,
  splice,
} from './splice.ts'
import { flushed, handOff, handOffNow } from './hand-off.ts'
import { connectNative, retryNative } from './native-connect.ts'
import { checkQueued, enqueue, leaveQueue, othersWaiting, serveQueue } from './queueing.ts'

/** Client bytes held while the backend connects; past this the client is paused. */
export const HOLD_MAX = 64 * 1024

/**
 * Start proxying a session the listener accepted; `early` holds client bytes
 * already read (after a PROXY header), or null. Never throws: a flow no
 * backend can take ends `no-backend` (the client is reset).
 */
export function startSession(s: Session, early: Buffer | null): void {
  const c = s.client
  const pool = s.host.pool
  s.hash = hashFlow(pool.config.hashKey, s.clientAddr, s.clientPort)
  // Reading the client's first line (connect-authority) or the backend's
  // (observe) needs JavaScript's path: the native shortcut does not take them.
  const scans = scansConnectLine(s)
  const shortcut = !scans && !observes(s)
  // A new client queues behind those already waiting (arrival order): no pick while others wait.
  const b = scans || othersWaiting(pool) ? undefined : pool.picker.pick(s.hash, s.tried)
  const pump = s.host.pump
  if (shortcut && b !== undefined && pump !== null && pump.connects && pool.nativeConnect && s.nativeId !== REFUSED && connectNative(s, pump, b, early)) return
  c.setNoDelay(true)
  if (scans) startScan(s)
  c.on('data', scans ? onScanData : onHeldData)
  c.on('end', onClientEnd)
  c.on('error', onClientError)
  c.on('close', onClientClose)
  c.on('drain', onClientDrain)
  if (early !== null && early.length > 0) {
    s.bytesIn += early.length // client bytes that came in the PROXY header's read
    hold(s, early)
    if (scans && scanEarly(s, early)) return
  }
  if (c.isPaused()) c.resume()
  if (!scans) connectFirst(s, b)
}

/**
 * Called by the listener's sweep with the coarse clock (ms): a connect past
 * its deadline (`timeouts.connect`) fails as a timeout; an open session's
 * data timeouts are splice.ts's.
 */
export function checkTimeouts(s: Session, now: number): void {
  if (s.phase !== CONNECTING) {
    if (s.status !== null) checkObserved(s, now)
    return checkDataTimeouts(s, now)
  }
  if (s.scan !== null) return checkScan(s, now) // the CONNECT line unfinished at timeouts.connect-line
  if (s.server === null) {
    // Waiting in the pool's queue (queueing.ts): past timeouts.queue it is reset.
    if (checkQueued(s, now, connectTo) === 'timed-out' && s.reason === null) {
      s.reason = 'queue-timeout'
      giveUp(s) // a client the pump holds (accepted natively) is reset by it
    }
    return
  }
  if (now >= s.deadline) connectFailed(s, 'timeout')
}

/**
 * The listener's hook when a session has ended: it leaves the queue, frees
 * its retry token, and waiting clients get the slots that are free now.
 */
export function sessionLeft(s: Session): void {
  const pool = s.host.pool
  leaveQueue(s)
  pool.retry.release(s)
  if (othersWaiting(pool)) serveQueue(pool, s.host.clock.now, connectTo)
}

/** While connecting, client bytes are held for the backend to come. */
export function onHeldData(this: Tagged, chunk: Buffer): void {
  const s = this[kSession]!
  s.lastActive = s.host.clock.now
  s.bytesIn += chunk.length
  hold(s, chunk)
}

/** Keep `chunk` for the backend to come; past HOLD_MAX held bytes the client is paused. */
export function hold(s: Session, chunk: Buffer): void {
  if (s.held === null) s.held = []
  s.held.push(chunk)
  s.heldBytes += chunk.length
  if (s.heldBytes >= HOLD_MAX) s.client.pause()
}

/**
 * The first pick's outcome on JavaScript's connect path: connect `b`, or, with
 * no backend to take the client now, queue it (pools[].max-queue, queueing.ts)
 * or end it `no-backend`.
 */
export function connectFirst(s: Session, b: BackendRuntime | undefined): void {
  if (b === undefined) {
    const pool = s.host.pool
    const queued = enqueue(s)
    if (queued === 'queued') return
    if (queued === 'no-queue' && othersWaiting(pool)) {
      const again = pool.picker.pick(s.hash, s.tried) // the pool lost its backends: none to wait for
      if (again !== undefined) return connectTo(s, again)
    }
  }
  connectTo(s, b)
}

/** Connect `b` (picked for `s`), or end the session when no backend was left to pick. */
function connectTo(s: Session, b: BackendRuntime | undefined): void {
  if (b === undefined) {
    s.reason = s.tried.length === 0 ? 'no-backend' : 'connect-failed'
    return giveUp(s)
  }
  s.backend = b
  b.load.active++
  s.host.pool.poolLoad.active++
  s.connectStart = performance.now()
  if (s.native !== null) return retryNative(s, b)
  s.deadline = s.host.clock.now + s.host.timeouts.connectMs
  const sock = net.connect({ host: b.host, port: b.port, allowHalfOpen: true, noDelay: true }) as Tagged
  sock[kSession] = s
  s.server = sock
  sock.on('connect', onServerConnect)
  sock.on('error', onServerError)
  sock.on('close', onServerClose)
}

function report(s: Session, b: BackendRuntime, outcome: ConnectOutcome): void {
  s.host.reportPassive({ pool: b.pool, id: b.id, outcome })
}

/** No backend will serve `s` (its reason is set): the client is reset. */
function giveUp(s: Session): void {
  if (s.native !== null) return s.native.kill(s.nativeId)
  abort(s.client)
}

/**
 * A connect attempt failed (refused, errored, or timed out; by Node or by
 * the pump): try another backend or give up.
 */
export function connectFailed(s: Session, outcome: 'error' | 'timeout'): void {
  const b = s.backend!
  const sock = s.server
  s.server = null
  s.backend = null
  s.host.pool.retry.release(s) // the attempt (a retry or not) is over
  sock?.destroy()
  b.load.active--
  s.host.pool.poolLoad.active--
  b.stats.connectFailures++
  b.stats.failStreak++
  report(s, b, outcome)
  const tried = s.tried === NONE ? [] : (s.tried as BackendRuntime[])
  tried.push(b)
  s.tried = tried
  if (s.clientClosed) return finish(s)
  const pool = s.host.pool
  // Retries to other backends, at most `retries`, and within the retry budget (retry-budget.ts).
  if (tried.length > pool.config.retries || !pool.retry.admit(s, pool.config.retryBudget, pool.poolLoad.active, pool.queue.length)) {
    s.reason = 'connect-failed'
    return giveUp(s)
  }
  connectTo(s, s.host.pool.picker.pick(s.hash, s.tried))
}

/** `s`'s backend answered after `latencyMs`: the session is open (counted, and passive health hears a recovery). */
export function established(s: Session, latencyMs: number): void {
  const b = s.backend!
  s.host.pool.retry.release(s) // the attempt (a retry or not) is over
  s.phase = OPEN
  s.lastActive = s.host.clock.now
  recordLatency(b.load, latencyMs)
  b.stats.total++
  // Observed pools count the backend's answer instead (observed()): a proxy that
  // connects and answers 503 must not have its failure run reset by the connect.
  if (b.stats.failStreak > 0 && !observes(s)) {
    b.stats.failStreak = 0
    report(s, b, 'connected')
  }
}

/** The PROXY header `b` wants for `s`, or null. `s.dstAddr` must be known by then when it was null. */
export function proxyHeader(s: Session, b: BackendRuntime): Buffer | null {
  if (b.sendProxy === 'none') return null
  const encode = b.sendProxy === 'v1' ? encodeProxyV1 : encodeProxyV2
  if (s.dstAddr === null) {
    s.dstAddr = s.client.localAddress ?? '0.0.0.0'
    s.dstPort = s.client.localPort ?? 0
  }
  return encode(s.clientAddr, s.clientPort, s.dstAddr, s.dstPort)
}

function onServerConnect(this: Tagged): void {
  const s = this[kSession]!
  if (s.server !== this) return
  const b = s.backend!
  established(s, performance.now() - s.connectStart)
  const header = proxyHeader(s, b)
  if (header !== null) this.write(header)
  s.client.off('data', onHeldData)
  if (s.held !== null) {
    for (const chunk of s.held) {
      b.stats.bytesIn += chunk.length
      this.write(chunk)
    }
    s.held = null
    s.heldBytes = 0
  }
  if (s.clientEnded) this.end()
  const pump = s.nativeId === REFUSED ? null : s.host.pump
  // The native engine's usual case: the kernel took every write, so the pump
  // can own the session now and JavaScript's splice handlers are never added.
  // Refused (counted), it stays on JavaScript without asking again.
  // Observing the answer keeps the session on JavaScript until its status line is seen (observed()).
  const observe = observes(s)
  const now = !observe && pump !== null && flushed(s, this)
  if (now && handOffNow(s, pump)) return
  s.client.on('data', onClientData)
  splice(s, this)
  if (observe) startObserving(s, this) // after splice's handler: each chunk has gone to the client first
  if (s.client.isPaused() && !s.clientEnded) s.client.resume()
  if (pump !== null && !now && !observe) handOff(s, pump)
}

/**
 * Stop the handlers a session has between its backend's connect and its
 * splice from seeing its sockets (an immediate hand-off: the splice handlers
 * were never added).
 */
export function detachConnected(s: Session): void {
  s.client.off('end', onClientEnd).off('error', onClientError).off('close', onClientClose).off('drain', onClientDrain)
  s.server!.off('connect', onServerConnect).off('error', onServerError).off('close', onServerClose)
}

/** Stop this file's and splice.ts's handlers from moving an open session's bytes (a hand-off); `attachHandlers` undoes it. */
export function detachHandlers(s: Session): void {
  s.client.off('data', onClientData).off('end', onClientEnd).off('error', onClientError).off('close', onClientClose).off('drain', onClientDrain)
  s.server!.off('data', onServerData).off('end', onServerEnd).off('error', onServerError).off('close', onServerClose).off('drain', onServerDrain)
}

export function attachHandlers(s: Session): void {
  s.client.on('data', onClientData).on('end', onClientEnd).on('error', onClientError).on('close', onClientClose).on('drain', onClientDrain)
  s.server!.on('data', onServerData).on('end', onServerEnd).on('error', onServerError).on('close', onServerClose).on('drain', onServerDrain)
}

function onServerError(this: Tagged): void {
  const s = this[kSession]!
  if (s.server !== this) return
  if (s.phase === CONNECTING) return connectFailed(s, 'error')
  serverErrored(s)
}

function onServerClose(this: Tagged): void {
  const s = this[kSession]!
  if (s.server !== this) return
  s.serverClosed = true
  if (s.clientClosed) return finish(s)
  if (s.phase === CONNECTING) {
    // Closed with neither 'connect' nor 'error': destroyed by a kill; the client's close finishes.
    if (s.reason !== null) return
    return connectFailed(s, 'error')
  }
  serverClosed(s)
}
