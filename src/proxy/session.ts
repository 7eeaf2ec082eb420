// One proxied connection: the record both halves of its life share. A session
// first chooses and connects (connect.ts: pick, connect with a deadline, retry
// elsewhere, hold the client's early bytes), then splices (splice.ts: both
// directions with backpressure and half-close, data timeouts, the ending),
// and ends with one log line when both sides are closed. Hot path: socket
// handlers are shared module functions that find their session through a
// symbol on the socket (no closures per connection); timeouts are deadlines
// checked by the listener's sweep, not timers.
//
// Endings (the table is in docs/errors.md): a peer sees a FIN only when the
// other peer sent one and the balancer forwarded it; every ending the
// balancer decides itself (timeouts, hard stop, no backend, connect failure)
// and every reset is passed on as a reset (RST), so a cut-off stream never
// looks like a complete one. Envoy's tcp_proxy propagates resets the same way.
import type net from 'node:net'
import type { Termination } from '../errors.ts'
import type { BackendRuntime } from './backend-runtime.ts'
import type { SessionHost } from './session-host.ts'
import type { NativePump } from './native-engine.ts'
import { nativeBytes, nativeEnded } from './hand-off.ts'
import { nativeConnect } from './native-connect.ts'
import { monoMs } from '../mono.ts'
import type { ConnectOutcome } from '../health/types.ts'
import type { ConnectLineReader } from '../net/http1/connect-line.ts'
import type { StatusLineObserver } from '../net/http1/status-line.ts'

export const kSession: unique symbol = Symbol('l4lb.session')
/** A client or backend socket carrying its session. */
export type Tagged = net.Socket & { [kSession]?: Session }

/** Phases: choosing and connecting a backend, then splicing, then ended. */
export const CONNECTING = 0
export const OPEN = 1
export const DONE = 2

/** Session.nativeId of a session the pump refused at its connect (counted once): it stays on JavaScript. */
export const REFUSED = -2

export const NONE: readonly BackendRuntime[] = Object.freeze([]) as readonly BackendRuntime[]

export class Session {
  prev: Session | null = null
  next: Session | null = null
  server: Tagged | null = null
  backend: BackendRuntime | null = null
  tried: readonly BackendRuntime[] = NONE
  phase = CONNECTING
  held: Buffer[] | null = null
  heldBytes = 0
  clientEnded = false
  serverEnded = false
  clientClosed = false
  serverClosed = false
  firstClose: 'client' | 'server' | null = null
  reason: Termination | null = null
  /** The flow's hash as a signed 32-bit integer, so V8 keeps it unboxed; read and written through `hash`. */
  private hash32 = 0
  /** observe http-connect: when the client's first byte went to the backend (performance.now() ms); 0 = not yet. */
  answerFrom = 0
  /** hash-key connect-authority: the CONNECT authority the flow was hashed on; null when it fell back to the client address. */
  authority: string | null = null
  /** Reading the client's CONNECT line before the pick (hash-key connect-authority); null once decided. */
  scan: ConnectLineReader | null = null
  /** Watching the backend's first response line (observe http-connect); null once seen or when not observing. */
  status: StatusLineObserver | null = null
  /** When the client was accepted (monoMs(), ms). */
  readonly started: number
  deadline = 0 // connect deadline while connecting (coarse clock ms)
  lastActive: number // last byte or FIN either way (coarse clock ms)
  connectStart = 0 // JavaScript connects only: when the attempt began (performance.now(), ms); the pump times its own
  bytesIn = 0 // payload bytes from the client (after any PROXY header), forwarded or not
  bytesOut = 0 // bytes to the client
  /** The native pump that moves this session's bytes once handed over (hand-off.ts), and its id there. */
  native: NativePump | null = null
  nativeId = -1 // REFUSED: the pump could not take it at its connect, it stays on JavaScript

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
    this.started = monoMs()
    this.lastActive = host.clock.now
    client[kSession] = this
  }

  /** The flow's hash (hash.ts), an unsigned 32-bit integer. */
  get hash(): number {
    return this.hash32 >>> 0
  }

  set hash(h: number) {
    this.hash32 = h | 0
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

  /** The pump's outcome of a connect attempt (stage 2, see NativeOwner). */
  nativeConnect(outcome: ConnectOutcome, ms: number): void {
    nativeConnect(this, outcome, ms)
  }

  /** A byte-count sample while the pump carries this session (see NativeOwner). */
  nativeBytes(bytesIn: number, bytesOut: number): void {
    nativeBytes(this, bytesIn, bytesOut)
  }

  /** The pump finished this session (see NativeOwner). */
  nativeEnded(reason: Termination | null, firstClose: 'client' | 'server' | null, bytesIn: number, bytesOut: number): void {
    nativeEnded(this, reason, firstClose, bytesIn, bytesOut)
  }
}

/**
 * End `sock` with a reset (RST): SO_LINGER 0, so bytes still queued for this
 * peer are dropped, as when the other peer reset a direct connection (what
 * the peer already received stays readable before the error). A socket
 * still connecting has no connection to reset: it is destroyed. Idempotent.
 */
export function abort(sock: Tagged): void {
  if (sock.destroyed) return
  if (sock.connecting) sock.destroy()
  else sock.resetAndDestroy()
}
