// Stage 2 of the native engine: the pump connects the backend. JavaScript
// still accepts and picks (connect.ts); here the accepted client goes to the
// pump at once with the picked backend's address, the connect timeout, and
// what must reach the backend first (its PROXY header, client bytes already
// read). The pump reports each attempt's outcome; a failure goes back to
// connect.ts's connectFailed, whose retry picks the next backend and calls
// retryNative. So counters, passive health, termination reasons and the log
// line are the JavaScript engine's own. Used for pools whose backends are all
// IP literals (the pump does not resolve names); a session the pump cannot
// take stays on JavaScript, counted.
import type { ConnectOutcome } from '../health/types.ts'
import type { BackendRuntime } from './backend-runtime.ts'
import { connectFailed, established, proxyHeader } from './connect.ts'
import { closedSocket } from './hand-off.ts'
import type { NativePump } from './native-engine.ts'
import { DONE, REFUSED, type Session } from './session.ts'

type WithFd = Session['client'] & { _handle?: { fd?: number } | null }

/**
 * Hand `s`, just accepted, to `pump` to connect `b` (picked, not yet
 * counted). `early`: client bytes already read (after a PROXY header), or
 * null. Returns false, with `s` untouched, when the pump cannot take it:
 * the caller goes on with the JavaScript engine (the pump counted it).
 */
export function connectNative(s: Session, pump: NativePump, b: BackendRuntime, early: Buffer | null): boolean {
  const c = s.client as WithFd
  const fd = c._handle?.fd
  if (typeof fd !== 'number' || fd < 0 || c.destroyed) {
    pump.fellBack()
    return false
  }
  c.pause()
  const more = c.read() as Buffer | null
  const held: Buffer[] = []
  if (early !== null && early.length > 0) held.push(early)
  if (more !== null) held.push(more)
  if (s.dstAddr === null && s.host.pool.sendsProxy) {
    // Asked now (getsockname): the client's Node socket is gone once the pump owns it.
    s.dstAddr = c.localAddress ?? '0.0.0.0'
    s.dstPort = c.localPort ?? 0
  }
  s.held = held.length > 0 ? held : null
  const t = s.host.timeouts
  const id = pump.connect(s, fd, b.host, b.port, t.connectMs, t.idleMs, t.halfClosedMs, preface(s, b))
  if (id < 0) {
    s.nativeId = REFUSED
    s.held = null
    if (more !== null) c.unshift(more)
    return false
  }
  s.native = pump
  s.nativeId = id
  for (const chunk of held) {
    s.bytesIn += chunk.length
    s.heldBytes += chunk.length
  }
  s.backend = b
  b.load.active++
  s.host.pool.poolLoad.active++
  c.on('error', noop)
  c.destroy()
  s.client = closedSocket() // no Node socket stays alive for it
  return true
}

/** Connect `b` (picked and counted by connect.ts) after a failed attempt of `s`, which the pump holds. */
export function retryNative(s: Session, b: BackendRuntime): void {
  const t = s.host.timeouts
  const r = s.native!.retry(s.nativeId, b.host, b.port, t.connectMs, preface(s, b))
  // No socket could be made (out of descriptors): that attempt failed, as Node's connect would.
  if (r < 0) connectFailed(s, 'error')
}

/** The pump's report of a connect attempt of `s` (`ms`: the connect time when connected). */
export function nativeConnect(s: Session, outcome: ConnectOutcome, ms: number): void {
  // Ending already (a kill on its way): as with the JavaScript engine, a
  // connect cut short is neither a success nor a failure.
  if (s.phase === DONE || s.reason !== null || s.backend === null) return
  if (outcome !== 'connected') return connectFailed(s, outcome)
  established(s, ms)
  s.backend.stats.bytesIn += s.heldBytes // client bytes the pump sent first
  s.held = null
  s.heldBytes = 0
}

/** What the backend gets first: its PROXY header, then the client's held bytes; null when nothing. */
function preface(s: Session, b: BackendRuntime): Buffer | null {
  const header = proxyHeader(s, b)
  if (header === null) return s.held === null ? null : s.held.length === 1 ? s.held[0]! : Buffer.concat(s.held)
  return s.held === null ? header : Buffer.concat([header, ...s.held])
}

function noop(): void {}
