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
//
// Format (log-format.ts): JSON lines, or human lines (pino-pretty) when
// L4LB_LOG_FORMAT says pretty (or auto on a terminal) or setLogFormat() is
// called; the batching above applies to both.
import pino, { type Logger } from 'pino'
import { flushingStream } from './log-flush.ts'
import { chooseLogFormat, LOG_FORMAT_ENV, prettyLine, type LogFormat } from './log-format.ts'

/** The longest a line below warn may wait in the buffer, in ms. */
export const FLUSH_EVERY_MS = 1000

/** Least time between two synchronous writes of warnings, in ms (bounds blocking writes to 100/s). */
export const SYNC_GAP_MS = 10

const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 })
const stream = flushingStream(destination, { everyMs: FLUSH_EVERY_MS, syncFromLevel: 40, syncGapMs: SYNC_GAP_MS })

let toText: ((line: string) => string) | null = null
/** What pino writes to: each line as JSON or turned human, then into the flushing stream. */
const formatted = {
  [Symbol.for('pino.metadata')]: true,
  lastLevel: 0, // set by pino before each write
  write(line: string): void {
    stream.lastLevel = formatted.lastLevel
    stream.write(toText === null ? line : toText(line))
  },
  flush(cb?: (err?: Error | null) => void): void {
    stream.flush(cb)
  },
}

export const log: Logger = pino(
  {
    level: process.env.LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  },
  formatted,
)

/**
 * Write lines as `format` from now on, and export it in L4LB_LOG_FORMAT so
 * that workers forked afterwards write the same. Colours only on a terminal
 * without NO_COLOR.
 */
export function setLogFormat(format: LogFormat): void {
  process.env[LOG_FORMAT_ENV] = format
  toText = format === 'pretty' ? prettyLine(Boolean(process.stdout.isTTY) && process.env.NO_COLOR === undefined) : null
}

// A worker (or a primary started with L4LB_LOG_FORMAT set) starts in the format it was given; a bad value means json.
{
  const initial = chooseLogFormat({ env: process.env[LOG_FORMAT_ENV], commandDefault: 'json', isTTY: Boolean(process.stdout.isTTY) })
  if (initial === 'pretty') setLogFormat('pretty')
}

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
