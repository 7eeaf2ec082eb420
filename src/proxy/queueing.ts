// The queue at maxconn (HAProxy `maxconn` + `timeout queue`): when every
// backend of a pool that takes new flows is at its `maxconn`, a new client
// waits in the pool's FIFO (pools[].max-queue per worker) with its socket
// paused, so nothing more is read from it until it has a backend (bytes read
// before, e.g. with a PROXY header, stay held). A freed slot goes to the
// oldest waiting client; a client that waits `timeouts.queue` is reset
// (`queue-timeout`); one that finds the queue full is reset at once
// (`no-backend`, as without a queue). New clients queue behind waiting ones
// even when a slot is free, so the order is arrival order.
//
// With `abort-on-close` (HAProxy `option abortonclose`) a waiting client is
// read from instead (bytes held as while connecting, paused past HOLD_MAX) so
// its FIN is seen: it leaves the queue and ends `client-closed-early` rather
// than being connected, when a slot frees, to a backend for nobody.
//
// The queue is served when a session that held a slot ends or gives up
// (connect.ts), and at each sweep tick for the oldest client (a health
// snapshot may have brought a backend back: served within one tick, 50 ms).
import type { BackendRuntime } from './backend-runtime.ts'
import type { PoolRuntime } from './pool-runtime.ts'
import { NONE, type Session } from './session.ts'

/** What the caller should do with a client no backend slot was found for. */
export type QueueOutcome = 'queued' | 'full' | 'no-queue'

/** Queue `s` if its pool has a queue and backends that are only full; the caller refuses it otherwise. */
export function enqueue(s: Session): QueueOutcome {
  const pool = s.host.pool
  if (pool.config.maxQueue === 0 || !pool.takesNewFlows()) return 'no-queue'
  const now = s.host.clock.now
  if (!pool.queue.push(s, pool.config.maxQueue, now)) {
    pool.queueCounters.refused++
    return 'full'
  }
  s.deadline = now + s.host.timeouts.queueMs
  if (!pool.config.abortOnClose) s.client.pause()
  return 'queued'
}

/** True when new clients of `pool` must queue behind waiting ones (fairness). */
export function othersWaiting(pool: PoolRuntime): boolean {
  return pool.queue.length > 0
}

/**
 * Give free slots to waiting clients, oldest first, while the picker finds a
 * backend for the oldest; `start` connects one to the backend picked for it.
 */
export function serveQueue(pool: PoolRuntime, now: number, start: (s: Session, b: BackendRuntime) => void): void {
  for (let s = pool.queue.peek(); s !== undefined; s = pool.queue.peek()) {
    const b = pool.picker.pick(s.hash, NONE)
    if (b === undefined) return
    pool.queueCounters.waitMs += now - (pool.queue.since(s) ?? now)
    pool.queueCounters.dequeued++
    pool.queue.remove(s)
    if (!s.clientClosed && !s.clientEnded) s.client.resume()
    start(s, b)
  }
}

/**
 * The sweep's look at a session with no backend socket: true when it is
 * queued (past its deadline it is taken out, counted and left to the caller
 * to reset; otherwise the oldest one tries the queue again).
 */
export function checkQueued(s: Session, now: number, start: (s: Session, b: BackendRuntime) => void): 'waiting' | 'timed-out' | 'not-queued' {
  const pool = s.host.pool
  if (!pool.queue.has(s)) return 'not-queued'
  if (now >= s.deadline) {
    pool.queueCounters.waitMs += now - (pool.queue.since(s) ?? now)
    pool.queueCounters.timeouts++
    pool.queue.remove(s)
    return 'timed-out'
  }
  if (pool.queue.peek() === s) serveQueue(pool, now, start)
  return 'waiting'
}

/**
 * The client of `s` closed (FIN): with abort-on-close, a queued client leaves
 * the queue (counted in its wait time) and true is returned, for the caller
 * to end it `client-closed-early`; false otherwise (it stays queued).
 */
export function abortQueued(s: Session, now: number): boolean {
  const pool = s.host.pool
  if (!pool.config.abortOnClose || !pool.queue.has(s)) return false
  pool.queueCounters.waitMs += now - (pool.queue.since(s) ?? now)
  pool.queueCounters.aborted++
  pool.queue.remove(s)
  return true
}

/** `s` ended or no longer waits: out of the queue (if there). */
export function leaveQueue(s: Session): void {
  s.host.pool.queue.remove(s)
}
