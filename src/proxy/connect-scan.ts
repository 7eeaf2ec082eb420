// hash-key connect-authority: a session's client bytes are read (and held,
// forwarded unchanged later) until its first line is known; the target of a
// CONNECT line becomes the flow's hash before the pick. Bounded by
// connect-line.ts's size cap and `timeouts.connect-line` (checkScan).
import { hashAuthority } from '../balancer/hash.ts'
import { ConnectLineReader } from '../net/http1/connect-line.ts'
import { abort, kSession, type Session, type Tagged } from './session.ts'
import { connectFirst, HOLD_MAX, hold, onHeldData } from './connect.ts'
import { othersWaiting } from './queueing.ts'

/** True when `s`'s pool hashes the CONNECT target, so its first line must be read before the pick. */
export function scansConnectLine(s: Session): boolean {
  return s.host.pool.config.hashKey === 'connect-authority'
}

/** Begin reading `s`'s CONNECT line; the deadline is `timeouts.connect-line` from now. Call before other client handlers. */
export function startScan(s: Session): void {
  s.scan = new ConnectLineReader()
  s.deadline = s.host.clock.now + s.host.timeouts.connectLineMs
  s.client.on('end', onScanEnd)
}

/** `early` (already held) completes the line: true when the pick has been made. */
export function scanEarly(s: Session, early: Buffer): boolean {
  if (s.scan!.push(early).kind === 'more') return false
  scanned(s)
  return true
}

/** Client bytes while its CONNECT line is read: held (forwarded unchanged later) and scanned. */
export function onScanData(this: Tagged, chunk: Buffer): void {
  const s = this[kSession]!
  s.lastActive = s.host.clock.now
  s.bytesIn += chunk.length
  hold(s, chunk)
  if (s.scan!.push(chunk).kind !== 'more') scanned(s)
}

/** The client's FIN before its line ended: no target to hash, the client address is. */
function onScanEnd(this: Tagged): void {
  const s = this[kSession]!
  if (s.scan !== null) scanned(s)
}

/**
 * The sweep's look at a session still reading its line (`now` in ms): at
 * `timeouts.connect-line` it is reset (`connect-line-timeout`); nothing
 * reached a backend.
 */
export function checkScan(s: Session, now: number): void {
  if (now >= s.deadline && s.reason === null) {
    s.reason = 'connect-line-timeout'
    abort(s.client)
  }
}

/**
 * The CONNECT line is read (or will not come): hash its authority, or keep
 * the client-address hash (not a CONNECT, malformed, too long, the client's
 * FIN), then pick and connect as any session does.
 */
function scanned(s: Session): void {
  const r = s.scan!.result
  s.scan = null
  s.client.off('data', onScanData).off('end', onScanEnd).on('data', onHeldData)
  if (r.kind === 'authority') {
    s.hash = hashAuthority(r.authority)
    s.authority = r.authority
  }
  const pool = s.host.pool
  if (s.client.isPaused() && s.heldBytes < HOLD_MAX) s.client.resume()
  connectFirst(s, othersWaiting(pool) ? undefined : pool.picker.pick(s.hash, s.tried))
}
