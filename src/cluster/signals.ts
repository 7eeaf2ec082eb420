// One module owns process signals in the primary: SIGHUP reloads; the first
// SIGTERM/SIGINT drains (stop accepting, let connections finish up to the
// drain deadline, then exit); a second one exits at once.
import type { Logger } from 'pino'
import { flushLog } from '../log.ts'
import type { Primary } from './primary.ts'

export function installSignals(primary: Primary, log: Logger, beforeExit: () => Promise<void>): void {
  let stopping = false
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now')
      primary.killNow()
      flushLog()
      process.exit(130)
    }
    stopping = true
    log.info({ signal, drainMs: primary.config.shutdown.drainMs }, 'shutting down: draining connections')
    void (async () => {
      await primary.shutdown()
      await beforeExit()
      log.info('stopped')
      flushLog()
      process.exit(0)
    })()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.on('SIGHUP', () => {
    log.info('SIGHUP: reloading config')
    void primary.reload()
  })
}
