// A session's second half, once its backend connected (connect.ts): bytes
// both ways with backpressure (a side whose peer cannot take more is paused
// until 'drain'), half-close (a FIN is forwarded as a FIN, the other
// direction goes on), the idle and half-closed timeouts, and the ending: the
// termination reason and one `sessionEnded` call when both sides are closed.
// The client's handlers live here from the start, since a client can end,
// fail or close while its backend is still connecting.
import { abort, CONNECTING, DONE, kSession, OPEN, type Session, type Tagged } from './session.ts'
import { abortQueued } from './queueing.ts'

/** Splice an open session: the backend socket `server` starts carrying bytes to the client. */
export function splice(s: Session, server: Tagged): void {
  server.on('data', onServerData)
  server.on('end', onServerEnd)
  server.on('drain', onServerDrain)
}

/**
 * Both data timeouts count inactivity: time since the last byte or FIN in
 * either direction (coarse clock ms), as HAProxy's `timeout client-fin`/
 * `server-fin` do; `half-closed` applies once either side has ended, `idle`
 * always; 0 turns either off. Does nothing unless the session is open.
 */
export function checkDataTimeouts(s: Session, now: number): void {
  if (s.phase !== OPEN || s.native !== null) return // a handed-over session's timers run in the pump
  const t = s.host.timeouts
  const quiet = now - s.lastActive
  if (t.halfClosedMs > 0 && (s.clientEnded || s.serverEnded) && quiet >= t.halfClosedMs) {
    return s.kill('half-closed-timeout')
  }
  if (t.idleMs > 0 && quiet >= t.idleMs) s.kill('idle-timeout')
}

export function onClientData(this: Tagged, chunk: Buffer): void {
  const s = this[kSession]!
  s.lastActive = s.host.clock.now
  s.bytesIn += chunk.length
  s.backend!.stats.bytesIn += chunk.length
  if (!s.server!.write(chunk)) this.pause()
}

export function onServerData(this: Tagged, chunk: Buffer): void {
  const s = this[kSession]!
  s.lastActive = s.host.clock.now
  s.bytesOut += chunk.length
  s.backend!.stats.bytesOut += chunk.length
  if (!s.client.write(chunk)) this.pause()
}

export function onClientDrain(this: Tagged): void {
  const s = this[kSession]!
  if (s.server !== null && s.phase === OPEN && !s.serverEnded) s.server.resume()
}

export function onServerDrain(this: Tagged): void {
  const s = this[kSession]!
  if (s.server === this && !s.clientEnded) s.client.resume()
}

/** The client's FIN: forwarded now when open, else when the backend connects (connect.ts). */
export function onClientEnd(this: Tagged): void {
  const s = this[kSession]!
  s.clientEnded = true
  if (s.firstClose === null) s.firstClose = 'client'
  s.lastActive = s.host.clock.now
  if (s.phase === OPEN) s.server!.end()
  else if (s.server === null && abortQueued(s, s.host.clock.now)) {
    // Closed while waiting in the queue (abort-on-close): no backend is connected for nobody.
    if (s.reason === null) s.reason = 'client-closed-early'
    abort(s.client)
  }
}

export function onServerEnd(this: Tagged): void {
  const s = this[kSession]!
  s.serverEnded = true
  if (s.firstClose === null) s.firstClose = 'server'
  s.lastActive = s.host.clock.now
  s.client.end()
}

export function onClientError(this: Tagged): void {
  const s = this[kSession]!
  if (s.reason === null) s.reason = s.phase === OPEN ? 'client-reset' : 'client-closed-early'
  if (s.server !== null) abort(s.server)
}

export function onClientClose(this: Tagged): void {
  const s = this[kSession]!
  s.clientClosed = true
  if (s.server === null || s.serverClosed) return finish(s)
  // Gone before a backend answered: abandon the connect. Otherwise both
  // directions ended, or the server was already reset: just close.
  if (s.phase === CONNECTING) {
    if (s.reason === null) s.reason = 'client-closed-early'
    return abort(s.server)
  }
  s.server.destroy()
}

/** The open backend socket failed: the client gets a reset. */
export function serverErrored(s: Session): void {
  if (s.reason === null) s.reason = 'server-reset'
  abort(s.client)
}

/** The open backend socket closed while the client's has not: a close without its FIN is a reset. */
export function serverClosed(s: Session): void {
  if (!s.serverEnded && s.reason === null) s.reason = 'server-reset'
  if (!s.serverEnded || !s.clientEnded) abort(s.client)
}

/** Both sides are closed (or the client left while no backend was connected): settle counts and the reason, once. */
export function finish(s: Session): void {
  if (s.phase === DONE) return
  const wasOpen = s.phase === OPEN
  s.phase = DONE
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
