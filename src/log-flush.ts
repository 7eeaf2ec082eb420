// A pino stream in front of a batching asynchronous destination (sonic-boom
// with minLength) that bounds how long a line can wait in the batch.
//
// flushingStream(dest, { everyMs, syncFromLevel, syncGapMs }) returns the object to hand
// to pino(). For each line pino writes (pino sets `lastLevel` first, because
// the stream asks for metadata):
// - level >= syncFromLevel (warn = 40): every buffered line and this one are
//   written synchronously before the log call returns, so a SIGKILL right
//   after cannot lose them. A flood of such lines (a PROXY listener refusing
//   thousands of untrusted peers) must not turn into one blocking write per
//   line: after a synchronous flush, the next one waits syncGapMs and carries
//   every line of that gap (so at most 1000 / syncGapMs blocking writes a
//   second, and a flood's line waits at most syncGapMs);
// - otherwise the first line of a batch arms one timer of everyMs (unref'd,
//   never keeps the process alive) that flushes the batch asynchronously.
// If an asynchronous write is in flight, a flush waits for the destination's
// 'drain' instead, so lines stay in order on the output. A destroyed or
// broken destination (EPIPE) is never an error here: flushing it is a no-op.
// sonic-boom keeps a full batch (minLength bytes) on its own schedule.
import { performance } from 'node:perf_hooks'

/** The part of a sonic-boom destination this uses. */
export interface BatchingDestination {
  write(data: string): boolean
  flush(cb?: (err?: Error | null) => void): void
  flushSync(): void
  once(event: 'drain', listener: () => void): unknown
}

export interface FlushOptions {
  /** The longest a line below syncFromLevel stays buffered, in ms (> 0). */
  readonly everyMs: number
  /** pino level number from which a line is written synchronously (warn = 40). */
  readonly syncFromLevel: number
  /** Least time between two synchronous flushes, in ms (>= 0). */
  readonly syncGapMs: number
}

export interface FlushingStream {
  /** Set by pino before each write (metadata stream). */
  lastLevel: number
  write(line: string): void
  /** Asynchronous flush; cb runs once the destination has written (pino's logger.flush). */
  flush(cb?: (err?: Error | null) => void): void
  /** Write everything buffered now, synchronously. Never throws. */
  flushSync(): void
}

const METADATA = Symbol.for('pino.metadata')

export function flushingStream(dest: BatchingDestination, opts: FlushOptions): FlushingStream {
  let timer: NodeJS.Timeout | null = null
  let gapTimer: NodeJS.Timeout | null = null
  let lastSync = -Infinity // performance.now() of the last synchronous flush
  let waitingDrain = false
  let wantSync = false

  // sonic-boom's own flag: true while an asynchronous fs.write is in flight.
  const busy = (): boolean => (dest as { _writing?: boolean })._writing === true

  const flushNow = (sync: boolean): void => {
    if (timer !== null) {
      clearTimeout(timer)
      timer = null
    }
    if (busy()) {
      wantSync ||= sync
      if (!waitingDrain) {
        waitingDrain = true
        dest.once('drain', () => {
          waitingDrain = false
          const s = wantSync
          wantSync = false
          flushNow(s)
        })
      }
      return
    }
    try {
      if (sync) dest.flushSync()
      else dest.flush()
    } catch {
      // destroyed, or not open yet: nothing can be written
    }
  }

  const onTimer = (): void => {
    timer = null
    flushNow(false)
  }

  const syncFlush = (): void => {
    lastSync = performance.now()
    flushNow(true)
  }

  const onGapTimer = (): void => {
    gapTimer = null
    syncFlush()
  }

  /** A line at or above syncFromLevel was buffered. */
  const urgent = (): void => {
    if (gapTimer !== null) return // the gap's flush will carry it
    const wait = lastSync + opts.syncGapMs - performance.now()
    if (wait <= 0) return syncFlush()
    gapTimer = setTimeout(onGapTimer, wait)
    gapTimer.unref()
  }

  const stream: FlushingStream & { [METADATA]: true } = {
    [METADATA]: true,
    lastLevel: 0,
    write(line: string): void {
      dest.write(line)
      if (stream.lastLevel >= opts.syncFromLevel) urgent()
      else if (timer === null) {
        timer = setTimeout(onTimer, opts.everyMs)
        timer.unref()
      }
    },
    flush(cb?: (err?: Error | null) => void): void {
      try {
        dest.flush(cb)
      } catch (err) {
        cb?.(err as Error)
      }
    },
    flushSync(): void {
      if (timer !== null) {
        clearTimeout(timer)
        timer = null
      }
      if (gapTimer !== null) {
        clearTimeout(gapTimer)
        gapTimer = null
      }
      try {
        dest.flushSync()
      } catch {
        // destroyed, or not open yet
      }
    },
  }
  return stream
}
