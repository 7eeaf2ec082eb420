// One pino root for the process; modules take `log.child({ component })`.
// LOG_LEVEL overrides the configured level (tests set it to 'silent').
//
// The destination is asynchronous (sonic-boom, minLength 4 KiB) so a log line
// per closed connection stays off the data path's critical time. Batching
// alone would hold lines until 4 KiB accumulate, which on a quiet balancer
// means minutes (and a SIGKILL loses them), so:
// - a line below warn is on stdout within FLUSH_EVERY_MS: the first buffered
//   line arms one timer (unref'd) that flushes the batch;
// - a warn, error or fatal line is written before the log call returns
//   (flushSync, with everything buffered before it, in order), so it survives
//   a SIGKILL that follows; when an asynchronous write is still in flight the
//   flush waits for it ('drain') so lines never overtake each other. In a
//   flood of warnings, one synchronous write per SYNC_GAP_MS carries them all.
// pino flushes the rest on exit; flushLog() does it on demand.
import pino, { type Logger } from 'pino'
import { flushingStream } from './log-flush.ts'

/** The longest a line below warn may wait in the buffer, in ms. */
export const FLUSH_EVERY_MS = 1000

/** Least time between two synchronous writes of warnings, in ms (bounds blocking writes to 100/s). */
export const SYNC_GAP_MS = 10

const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 })
const stream = flushingStream(destination, { everyMs: FLUSH_EVERY_MS, syncFromLevel: 40, syncGapMs: SYNC_GAP_MS })

export const log: Logger = pino(
  {
    level: process.env.LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  },
  stream,
)

export function setLogLevel(level: string): void {
  if (process.env.LOG_LEVEL === undefined) log.level = level
}

/** Write every buffered line now, synchronously (before exit). Never throws. */
export function flushLog(): void {
  stream.flushSync()
}

export function child(component: string): Logger {
  return log.child({ component })
}
