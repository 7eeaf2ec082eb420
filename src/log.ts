// One pino root for the process; modules take `log.child({ component })`.
// The destination is asynchronous (sonic-boom, minLength) so a log line per
// closed connection stays off the data path's critical time; it is flushed on
// exit. LOG_LEVEL overrides the configured level (tests set it to 'silent').
import pino, { type Logger } from 'pino'

const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 })

export const log: Logger = pino(
  {
    level: process.env.LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  },
  destination,
)

export function setLogLevel(level: string): void {
  if (process.env.LOG_LEVEL === undefined) log.level = level
}

export function flushLog(): void {
  try {
    destination.flushSync()
  } catch {
    // not ready yet or already closed: nothing to flush
  }
}

export function child(component: string): Logger {
  return log.child({ component })
}
