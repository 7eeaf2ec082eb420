// observe: http-connect: once a backend is connected, its first response
// line is read as it passes to the client (status-line.ts; no byte changed or
// held) and counted as passive health: 2xx a success, 5xx (407 with
// observe-407) or no line in time a failure, anything else neither. Each
// success or failure also goes into the backend's window in this worker
// (pools[].observe-window), whose estimate weigh-by: success-latency reads.
// The session stays on JavaScript until then, and goes to the native pump after.
import { connectVerdict, type StatusScan, StatusLineObserver } from '../net/http1/status-line.ts'
import { recordAnswer } from './backend-runtime.ts'
import { handOff } from './hand-off.ts'
import { kSession, OPEN, REFUSED, type Session, type Tagged } from './session.ts'

/** True when `s`'s pool reads its backends' answers. */
export function observes(s: Session): boolean {
  return s.host.pool.config.observe === 'http-connect'
}

/** Start watching `sock` (`s`'s connected backend). Call after splice's handlers are on: chunks reach the client first. */
export function startObserving(s: Session, sock: Tagged): void {
  s.status = new StatusLineObserver()
  s.deadline = s.host.clock.now + s.host.timeouts.connectMs
  // The answer's clock starts when the client's first byte reaches the backend: now, when bytes
  // were held while connecting (and just written), else at the client's first chunk.
  if (s.bytesIn > 0) s.answerFrom = performance.now()
  else s.client.once('data', () => (s.answerFrom = performance.now()))
  sock.on('data', onObserveData)
  sock.on('end', onObserveEnd)
}

/** A backend chunk, already forwarded (splice.ts): look for the status line in it. */
function onObserveData(this: Tagged, chunk: Buffer): void {
  const s = this[kSession]!
  if (s.status === null || s.server !== this) return
  const r = s.status.push(chunk)
  if (r.kind !== 'more') observed(s, r)
}

/** The backend's FIN before a whole status line: counted as neither success nor failure. */
function onObserveEnd(this: Tagged): void {
  const s = this[kSession]!
  if (s.status !== null && s.server === this) observed(s, s.status.end())
}

/**
 * Observing: no status line `timeouts.connect` after the client's first byte
 * reached the backend is a failure (a client that sends nothing is not the
 * backend's fault: its clock starts with the client's first byte).
 */
export function checkObserved(s: Session, now: number): void {
  // The first byte comes within a tick of `now`: never early, at most two ticks late.
  if (s.bytesIn === 0) s.deadline = now + s.host.clock.tickMs + s.host.timeouts.connectMs
  else if (now >= s.deadline) observed(s, 'timeout')
}

/**
 * The backend's first answer is known (observe http-connect): a success ends
 * its failure run, a failure (5xx, 407 when configured, a timeout) is a
 * passive-health failure as a failed connect is; then the session may go to
 * the native pump, on the next turn (the chunk's own handlers have run).
 */
function observed(s: Session, scan: StatusScan | 'timeout'): void {
  s.status = null
  s.server?.off('data', onObserveData).off('end', onObserveEnd)
  const b = s.backend!
  const verdict = scan === 'timeout' ? 'failure' : connectVerdict(scan, s.host.pool.config.observe407)
  if (b.answers !== null && (verdict === 'success' || verdict === 'failure')) {
    const now = s.host.clock.now
    b.answers.add(now, verdict === 'success' ? 1 : 0, verdict === 'failure' ? 1 : 0)
    b.load.successRate = b.answers.estimate(now) // what weigh-by: success-latency reads at the next pick
  }
  if (verdict === 'success') {
    if (s.answerFrom > 0) recordAnswer(b.load, performance.now() - s.answerFrom)
    b.stats.observedOk++
    if (b.stats.failStreak > 0) {
      b.stats.failStreak = 0
      s.host.reportPassive({ pool: b.pool, id: b.id, outcome: 'connected' })
    }
  } else if (verdict === 'failure') {
    b.stats.observedFailed++
    b.stats.failStreak++
    const answer = scan === 'timeout' ? `no CONNECT answer within ${s.host.timeouts.connectMs}ms` : `CONNECT ${scan.kind === 'status' ? scan.code : '?'}`
    s.host.reportPassive({ pool: b.pool, id: b.id, outcome: scan === 'timeout' ? 'timeout' : 'error', answer })
  }
  const pump = s.nativeId === REFUSED ? null : s.host.pump
  if (pump !== null && s.phase === OPEN) setImmediate(handOff, s, pump, 0)
}
