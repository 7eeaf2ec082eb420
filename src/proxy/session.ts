// One proxied connection: pick → connect (timeout, retry elsewhere) → splice
// both ways with backpressure and half-close → one log line when both sides
// are closed. Hot path: socket handlers are shared module functions that find
// their session through a symbol on the socket (no closures per connection);
// timeouts are deadlines checked by the listener's sweep, not timers.
//
// Endings (the table is in docs/errors.md): a peer sees a FIN only when the
// other peer sent one and the balancer forwarded it; every ending the
// balancer decides itself (timeouts, hard stop, no backend, connect failure)
// and every reset is passed on as a reset (RST), so a cut-off stream never
// looks like a complete one. Envoy's tcp_proxy propagates resets the same way.
import net from 'node:net'
import { hashFlow } from '../balancer/hash.ts'
import type { Termination } from '../errors.ts'
import { encodeProxyV1, encodeProxyV2 } from './proxy-protocol/encode.ts'
import { type BackendRuntime, recordLatency } from './backend-runtime.ts'
import type { SessionHost } from './session-host.ts'
import type { NativePump } from './native-engine.ts'
import { handOff, nativeEnded } from './hand-off.ts'

const kSession: unique symbol = Symbol('l4lb.session')
type Tagged = net.Socket & { [kSession]?: Session }

/** Client bytes held while the backend connects; past this the client is paused. */
export const HOLD_MAX = 64 * 1024
const NONE: readonly BackendRuntime[] = Object.freeze([]) as readonly BackendRuntime[]

const enum_CONNECTING = 0
const enum_OPEN = 1
const enum_DONE = 2

export class Session {
  prev: Session | null = null
  next: Session | null = null
  server: Tagged | null = null
  backend: BackendRuntime | null = null
  tried: readonly BackendRuntime[] = NONE
  phase = enum_CONNECTING
  held: Buffer[] | null = null
  heldBytes = 0
  clientEnded = false
  serverEnded = false
  clientClosed = false
  serverClosed = false
  firstClose: 'client' | 'server' | null = null
  reason: Termination | null = null
  hash = 0
  readonly started: number
  deadline = 0 // connect deadline while connecting
  lastActive: number // last byte or FIN either way (coarse clock ms)
  connectStart = 0
  bytesIn = 0 // payload bytes from the client (after any PROXY header), forwarded or not
  bytesOut = 0 // bytes to the client
  /** The native pump that moves this session's bytes once handed over (hand-off.ts), and its id there. */
  native: NativePump | null = null
  nativeId = -1

  readonly host: SessionHost
  client: Tagged // a closed placeholder once handed to the native pump (hand-off.ts)
  readonly clientAddr: string
  readonly clientPort: number
  /** null: the client's own socket address, asked for (getsockname) only when a PROXY header needs it. */
  dstAddr: string | null
  dstPort: number

  constructor(host: SessionHost, client: Tagged, clientAddr: string, clientPort: number, dstAddr: string | null, dstPort: number) {
    this.host = host
    this.client = client
    this.clientAddr = clientAddr
    this.clientPort = clientPort
    this.dstAddr = dstAddr
    this.dstPort = dstPort
    this.started = Date.now()
    this.lastActive = host.clock.now
    client[kSession] = this
  }

  /** Start proxying; `early` holds bytes already read (after a PROXY header). */
  start(early: Buffer | null): void {
    const c = this.client
    c.setNoDelay(true)
    c.on('data', onClientData)
    c.on('end', onClientEnd)
    c.on('error', onClientError)
    c.on('close', onClientClose)
    c.on('drain', onClientDrain)
    this.hash = hashFlow(this.host.pool.config.hashKey, this.clientAddr, this.clientPort)
    if (early !== null && early.length > 0) {
      this.bytesIn += early.length // client bytes that came in the PROXY header's read
      hold(this, early)
    }
    if (c.isPaused()) c.resume()
    connectNext(this)
  }

  /**
   * Called by the sweep with the coarse clock (ms). Both data timeouts count
   * inactivity: time since the last byte or FIN in either direction, as
   * HAProxy's `timeout client-fin`/`server-fin` do; `half-closed` applies
   * once either side has ended, `idle` always; 0 turns either off.
   */
  checkTimeouts(now: number): void {
    if (this.native !== null) return // the pump runs this session's timers
    if (this.phase === enum_CONNECTING) {
      if (this.server !== null && now >= this.deadline) connectFailed(this, true)
      return
    }
    if (this.phase !== enum_OPEN) return
    const t = this.host.timeouts
    const quiet = now - this.lastActive
    if (t.halfClosedMs > 0 && (this.clientEnded || this.serverEnded) && quiet >= t.halfClosedMs) {
      return this.kill('half-closed-timeout')
    }
    if (t.idleMs > 0 && quiet >= t.idleMs) this.kill('idle-timeout')
  }

  /**
   * End both sides now with a reason (timeouts, hard stop): both peers get
   * a reset, since neither asked for the end (what AWS NLB does on its idle
   * timeout; HAProxy sends a FIN unless `option nolinger`).
   */
  kill(reason: Termination): void {
    if (this.reason === null) this.reason = reason
    if (this.native !== null) return this.native.kill(this.nativeId)
    abort(this.client)
    if (this.server !== null) abort(this.server)
  }

  /** The pump finished this session (see NativeOwner). */
  nativeEnded(reason: Termination | null, firstClose: 'client' | 'server' | null, bytesIn: number, bytesOut: number): void {
    nativeEnded(this, reason, firstClose, bytesIn, bytesOut)
  }
}

/** Stop this file's handlers from moving `s`'s bytes (a hand-off); `attachHandlers` undoes it. */
export function detachHandlers(s: Session): void {
  const c = s.client
  c.off('data', onClientData).off('end', onClientEnd).off('error', onClientError).off('close', onClientClose).off('drain', onClientDrain)
  const v = s.server!
  v.off('data', onServerData).off('end', onServerEnd).off('error', onServerError).off('close', onServerClose).off('drain', onServerDrain)
}

export function attachHandlers(s: Session): void {
  const c = s.client
  c.on('data', onClientData).on('end', onClientEnd).on('error', onClientError).on('close', onClientClose).on('drain', onClientDrain)
  const v = s.server!
  v.on('data', onServerData).on('end', onServerEnd).on('error', onServerError).on('close', onServerClose).on('drain', onServerDrain)
}

/**
 * End `sock` with a reset (RST): SO_LINGER 0, so bytes still queued for this
 * peer are dropped, as when the other peer reset a direct connection (what
 * the peer already received stays readable before the error). A socket
 * still connecting has no connection to reset: it is destroyed. Idempotent.
 */
function abort(sock: Tagged): void {
  if (sock.destroyed) return
  if (sock.connecting) sock.destroy()
  else sock.resetAndDestroy()
}

function hold(s: Session, chunk: Buffer): void {
  if (s.held === null) s.held = []
  s.held.push(chunk)
  s.heldBytes += chunk.length
  if (s.heldBytes >= HOLD_MAX) s.client.pause()
}

function connectNext(s: Session): void {
  const pool = s.host.pool
  const b = pool.picker.pick(s.hash, s.tried)
  if (b === undefined) {
    s.reason = s.tried.length === 0 ? 'no-backend' : 'connect-failed'
    abort(s.client)
    return
  }
  s.backend = b
  b.load.active++
  pool.poolLoad.active++
  s.connectStart = performance.now()
  s.deadline = s.host.clock.now + s.host.timeouts.connectMs
  const sock = net.connect({ host: b.host, port: b.port, allowHalfOpen: true, noDelay: true }) as Tagged
  sock[kSession] = s
  s.server = sock
  sock.on('connect', onServerConnect)
  sock.on('error', onServerError)
  sock.on('close', onServerClose)
}

/** A connect attempt failed (refused, errored, or timed out): try another backend or give up. */
function connectFailed(s: Session, timedOut: boolean): void {
  const b = s.backend!
  const sock = s.server!
  s.server = null
  s.backend = null
  sock.destroy()
  b.load.active--
  s.host.pool.poolLoad.active--
  b.stats.connectFailures++
  b.stats.failStreak++
  s.host.reportPassive(b, false, timedOut)
  const tried = s.tried === NONE ? [] : (s.tried as BackendRuntime[])
  tried.push(b)
  s.tried = tried
  if (s.clientClosed) return finish(s)
  if (tried.length > s.host.pool.config.retries) {
    s.reason = 'connect-failed'
    abort(s.client)
    return
  }
  connectNext(s)
}

function onServerConnect(this: Tagged): void {
  const s = this[kSession]!
  if (s.server !== this) return
  const b = s.backend!
  s.phase = enum_OPEN
  s.lastActive = s.host.clock.now
  recordLatency(b.load, performance.now() - s.connectStart)
  b.stats.total++
  if (b.stats.failStreak > 0) {
    b.stats.failStreak = 0
    s.host.reportPassive(b, true, false)
  }
  if (b.sendProxy !== 'none') {
    const encode = b.sendProxy === 'v1' ? encodeProxyV1 : encodeProxyV2
    if (s.dstAddr === null) {
      s.dstAddr = s.client.localAddress ?? '0.0.0.0'
      s.dstPort = s.client.localPort ?? 0
    }
    this.write(encode(s.clientAddr, s.clientPort, s.dstAddr, s.dstPort))
  }
  this.on('data', onServerData)
  this.on('end', onServerEnd)
  this.on('drain', onServerDrain)
  if (s.held !== null) {
    for (const chunk of s.held) {
      b.stats.bytesOut += chunk.length
      this.write(chunk)
    }
    s.held = null
    s.heldBytes = 0
    if (s.client.isPaused() && !s.clientEnded) s.client.resume()
  }
  if (s.clientEnded) this.end()
  if (s.host.pump !== null) handOff(s, s.host.pump)
}

function onClientData(this: Tagged, chunk: Buffer): void {
  const s = this[kSession]!
  s.lastActive = s.host.clock.now
  s.bytesIn += chunk.length
  if (s.phase !== enum_OPEN) return hold(s, chunk)
  s.backend!.stats.bytesOut += chunk.length
  if (!s.server!.write(chunk)) this.pause()
}

function onServerData(this: Tagged, chunk: Buffer): void {
  const s = this[kSession]!
  s.lastActive = s.host.clock.now
  s.bytesOut += chunk.length
  s.backend!.stats.bytesIn += chunk.length
  if (!s.client.write(chunk)) this.pause()
}

function onClientDrain(this: Tagged): void {
  const s = this[kSession]!
  if (s.server !== null && s.phase === enum_OPEN && !s.serverEnded) s.server.resume()
}

function onServerDrain(this: Tagged): void {
  const s = this[kSession]!
  if (s.server === this && !s.clientEnded) s.client.resume()
}

function onClientEnd(this: Tagged): void {
  const s = this[kSession]!
  s.clientEnded = true
  if (s.firstClose === null) s.firstClose = 'client'
  s.lastActive = s.host.clock.now
  if (s.phase === enum_OPEN) s.server!.end()
}

function onServerEnd(this: Tagged): void {
  const s = this[kSession]!
  s.serverEnded = true
  if (s.firstClose === null) s.firstClose = 'server'
  s.lastActive = s.host.clock.now
  s.client.end()
}

function onClientError(this: Tagged): void {
  const s = this[kSession]!
  if (s.reason === null) s.reason = s.phase === enum_OPEN ? 'client-reset' : 'client-closed-early'
  if (s.server !== null) abort(s.server)
}

function onServerError(this: Tagged): void {
  const s = this[kSession]!
  if (s.server !== this) return
  if (s.phase === enum_CONNECTING) return connectFailed(s, false)
  if (s.reason === null) s.reason = 'server-reset'
  abort(s.client)
}

function onClientClose(this: Tagged): void {
  const s = this[kSession]!
  s.clientClosed = true
  if (s.server === null || s.serverClosed) return finish(s)
  // Gone before a backend answered: abandon the connect. Otherwise both
  // directions ended, or the server was already reset: just close.
  if (s.phase === enum_CONNECTING) {
    if (s.reason === null) s.reason = 'client-closed-early'
    return abort(s.server)
  }
  s.server.destroy()
}

function onServerClose(this: Tagged): void {
  const s = this[kSession]!
  if (s.server !== this) return
  s.serverClosed = true
  if (s.clientClosed) return finish(s)
  if (s.phase === enum_CONNECTING) {
    // Closed with neither 'connect' nor 'error': destroyed by a kill; the client's close finishes.
    if (s.reason !== null) return
    return connectFailed(s, false)
  }
  if (!s.serverEnded && s.reason === null) s.reason = 'server-reset'
  if (!s.serverEnded || !s.clientEnded) abort(s.client)
}

/** Both sides are closed: settle loads and the reason, hand the session back to its host. Once. */
export function finish(s: Session): void {
  if (s.phase === enum_DONE) return
  const wasOpen = s.phase === enum_OPEN
  s.phase = enum_DONE
  const b = s.backend
  if (b !== null) {
    b.load.active--
    s.host.pool.poolLoad.active--
  }
  if (s.reason === null) {
    if (!wasOpen) s.reason = 'client-closed-early'
    else s.reason = s.firstClose === 'server' ? 'server-closed' : 'client-closed'
  }
  s.host.sessionEnded(s)
}
