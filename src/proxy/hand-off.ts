// The seam between the two engines: an established session leaves
// JavaScript for the native pump. What JavaScript already wrote must have
// reached the kernel (no pending writes), what it already read but did not
// forward is handed over to be sent first, and nothing is read in between
// (all of this runs in one event-loop turn), so bytes keep their order. The
// pump dup()s the descriptors; closing the Node sockets then only releases
// Node's handles (libuv removes them from its epoll set before closing).
// When the pump cannot take the session, it stays on JavaScript, untouched.
import net from 'node:net'
import type { Termination } from '../errors.ts'
import type { NativePump } from './native-engine.ts'
import type { Session } from './session.ts'
import { attachHandlers, detachConnected, detachHandlers } from './connect.ts'
import { finish } from './splice.ts'

/** Event-loop turns a hand-off waits for JavaScript's writes to reach the kernel. */
const FLUSH_TURNS = 1000

type WithFd = net.Socket & { _handle?: { fd?: number } | null }

/** JavaScript's writes on both sockets reached the kernel, a FIN it forwarded included. */
export function flushed(s: Session, v: net.Socket): boolean {
  const c = s.client
  return c.writableLength === 0 && v.writableLength === 0 && (!s.clientEnded || v.writableFinished) && (!s.serverEnded || c.writableFinished)
}

/**
 * Hand `s` to `pump` at its backend's connect, before JavaScript's splice
 * handlers exist (the caller checked `flushed`). Returns false when the
 * session stays on JavaScript (refused: counted; the caller starts the
 * JavaScript splice), true when the pump owns it.
 */
export function handOffNow(s: Session, pump: NativePump): boolean {
  const c = s.client as WithFd
  const v = s.server as WithFd
  if (s.reason !== null || c.destroyed || v.destroyed) return false
  return adopt(s, pump, c, v, false)
}

/**
 * Hand `s` (spliced by JavaScript) to `pump`, now or once both sockets have
 * flushed what JavaScript wrote, including a FIN it forwarded. A session
 * whose both sides have ended, or that is ending, stays on JavaScript.
 */
export function handOff(s: Session, pump: NativePump, attempt = 0): void {
  const c = s.client as WithFd
  const v = s.server as WithFd | null
  if (v === null || s.native !== null || s.reason !== null || (s.clientEnded && s.serverEnded) || c.destroyed || v.destroyed) return
  if (!flushed(s, v)) {
    // Wait for the kernel to take what JavaScript wrote (a PROXY header, held
    // bytes); JavaScript keeps moving bytes meanwhile. A peer that does not
    // read for this long keeps the session on JavaScript.
    if (attempt >= FLUSH_TURNS) return pump.fellBack()
    setImmediate(handOff, s, pump, attempt + 1)
    return
  }
  detachHandlers(s) // before read(): read() emits 'data'
  if (!adopt(s, pump, c, v, true)) attachHandlers(s)
}

/**
 * Give both descriptors and what JavaScript read but did not forward to the
 * pump. `spliced`: the splice handlers were detached by the caller (else the
 * connect-time ones are, on success). False: refused, the session is as before.
 */
function adopt(s: Session, pump: NativePump, c: WithFd, v: WithFd, spliced: boolean): boolean {
  const cfd = c._handle?.fd
  const vfd = v._handle?.fd
  if (typeof cfd !== 'number' || cfd < 0 || typeof vfd !== 'number' || vfd < 0) {
    pump.fellBack()
    return false
  }
  c.pause()
  v.pause()
  const toServer = c.read() as Buffer | null
  const toClient = v.read() as Buffer | null
  const t = s.host.timeouts
  const ended = (s.clientEnded ? 1 : 0) | (s.serverEnded ? 2 : 0)
  const quiet = Math.max(0, s.host.clock.now - s.lastActive)
  const id = pump.adopt(s, cfd, vfd, t.idleMs, t.halfClosedMs, quiet, ended, toServer, toClient)
  if (id < 0) {
    // Stay on JavaScript: put back what was read, in order, and flow again.
    if (toServer !== null) c.unshift(toServer)
    if (toClient !== null) v.unshift(toClient)
    c.resume()
    v.resume()
    return false
  }
  if (!spliced) detachConnected(s) // read() queued nothing they must see: 'end' and 'close' come on a later tick
  s.native = pump
  s.nativeId = id
  const b = s.backend!
  if (toServer !== null) {
    s.bytesIn += toServer.length
    b.stats.bytesIn += toServer.length
  }
  if (toClient !== null) {
    s.bytesOut += toClient.length
    b.stats.bytesOut += toClient.length
  }
  c.on('error', noop)
  v.on('error', noop)
  c.destroy()
  v.destroy()
  // Keep no Node socket object alive for a session the pump owns.
  s.server = null
  s.client = closedSocket()
  return true
}

let closed: net.Socket | null = null

/** One destroyed socket that every handed-over session points at instead of its own. */
export function closedSocket(): net.Socket {
  if (closed === null) {
    closed = new net.Socket()
    closed.destroy()
  }
  return closed
}

/** Count bytes the pump moved for `s` (received from the client, from the backend) in the session and its backend. */
export function nativeBytes(s: Session, bytesIn: number, bytesOut: number): void {
  s.bytesIn += bytesIn
  s.bytesOut += bytesOut
  const b = s.backend
  if (b !== null) {
    b.stats.bytesIn += bytesIn
    b.stats.bytesOut += bytesOut
  }
}

/**
 * The pump ended `s`: count its last bytes (those no sample reported), settle
 * its reason, finish it as the JavaScript engine would.
 */
export function nativeEnded(s: Session, reason: Termination | null, firstClose: 'client' | 'server' | null, bytesIn: number, bytesOut: number): void {
  nativeBytes(s, bytesIn, bytesOut)
  if (s.firstClose === null) s.firstClose = firstClose
  if (s.reason === null) s.reason = reason ?? 'hard-stop'
  s.clientClosed = s.serverClosed = true
  s.native = null
  finish(s)
}

function noop(): void {}
