// A cluster worker: waits for its config and the current health snapshot,
// then listens (SO_REUSEPORT, its own socket) and serves. It never probes
// backends: it reports connect outcomes and counters to the primary, and
// applies whatever snapshot the primary publishes.
import type { Config } from '../config/types.ts'
import { Engine, engineChoice } from '../proxy/engine.ts'
import { child, flushLog, setLogLevel } from '../log.ts'
import { type ToPrimary, type ToWorker, open, sender } from './messages.ts'
import { CODES } from '../errors.ts'

const log = child('worker')

export function runWorker(): void {
  const send = sender<ToPrimary>((m, done) => {
    if (process.connected) process.send!(m, undefined, {}, done)
    else done?.()
  })
  let engine: Engine | null = null
  let statsTimer: NodeJS.Timeout | null = null
  // The snapshot version whose pickers are all built (large tables are built
  // off the loop, so this can trail engine.snapshot.version for a moment).
  let appliedVersion = 0
  const whenSettled = (version: number): void => {
    void engine?.settled().then(() => {
      if (version > appliedVersion) appliedVersion = version
      reportStats()
    })
  }
  let generation = 0
  let prepared: { generation: number; config: Config } | null = null
  // Reload messages run one at a time, in order (a late worker gets 'config'
  // and 'config-commit' back to back).
  let reloads: Promise<void> = Promise.resolve()
  const serially = (fn: () => Promise<void>): void => {
    reloads = reloads.then(fn)
  }

  const reportStats = (): void => {
    if (!engine) return
    const cpu = process.cpuUsage()
    send({
      type: 'stats',
      stats: engine.stats(),
      healthy: engine.healthy(),
      snapshotVersion: appliedVersion,
      rss: process.memoryUsage.rss(),
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    })
  }

  process.on('message', async (raw) => {
    const msg = open<ToWorker>(raw)
    if (msg === null) return
    switch (msg.type) {
      case 'init': {
        setLogLevel(msg.config.log.level)
        const b = new Engine(msg.config, {
          log,
          workers: msg.workers,
          reportPassive: (report) => send({ type: 'passive', report }),
        })
        b.applySnapshot(msg.snapshot) // before the first accept: every worker picks alike
        try {
          await b.start()
        } catch (err) {
          flushLog()
          // Exit only once the primary has the reason: it decides what to answer.
          send({ type: 'listen-failed', error: (err as Error).message }, () => process.exit(1))
          setTimeout(() => process.exit(1), 2000).unref()
          return
        }
        engine = b
        logEngine(b)
        appliedVersion = b.snapshot.version // start() resolved after its pickers were built
        const listeners = [...b.listeners.values()].map((l) => ({ name: l.config.name, port: l.address()?.port ?? 0 }))
        generation = msg.generation
        send({ type: 'ready', listeners, generation })
        statsTimer = setInterval(reportStats, 500)
        statsTimer.unref()
        reportStats()
        return
      }
      case 'snapshot':
        if (engine?.applySnapshot(msg.snapshot)) whenSettled(msg.snapshot.version)
        return
      case 'config':
        return serially(async () => {
          if (!engine) return
          let error: string | null = null
          try {
            await engine.prepareConfig(msg.config)
            prepared = { generation: msg.generation, config: msg.config }
          } catch (err) {
            error = (err as Error).message
            log.error({ code: CODES.LB_ERR_LISTEN, generation: msg.generation, err: error }, 'reload: a new listener cannot bind in this worker')
          }
          send({ type: 'config-prepared', generation: msg.generation, error })
        })
      case 'config-commit':
        return serially(async () => {
          if (!engine || prepared?.generation !== msg.generation) return
          let error: string | null = null
          try {
            setLogLevel(prepared.config.log.level)
            engine.commitConfig(prepared.config)
            generation = msg.generation
          } catch (err) {
            error = (err as Error).message
            log.error({ err: error }, 'reload failed in worker')
          }
          prepared = null
          await engine.settled() // large tables are built off the loop: answer once they serve
          send({ type: 'config-applied', generation: msg.generation, error })
          reportStats()
        })
      case 'config-abort':
        return serially(async () => {
          if (prepared?.generation === msg.generation) {
            engine?.abortConfig()
            prepared = null
          }
          send({ type: 'config-aborted', generation: msg.generation }) // nothing of it listens here now
        })
      case 'shutdown': {
        if (statsTimer) clearInterval(statsTimer)
        if (engine) {
          await engine.shutdown(msg.deadlineMs)
          reportStats()
        }
        flushLog()
        process.disconnect?.()
        setTimeout(() => process.exit(0), 50).unref()
        return
      }
    }
  })
  // Orphaned (the primary died): stop accepting and finish what we carry.
  process.on('disconnect', () => {
    if (engine) void engine.shutdown(engine.config.shutdown.drainMs).then(() => process.exit(0))
    else process.exit(0)
  })
  process.on('SIGTERM', () => {}) // the primary coordinates shutdown
  process.on('SIGINT', () => {})
  process.on('SIGHUP', () => {})
}

/**
 * Say at start which engine moves this worker's bytes. Without the addon,
 * `auto` warns and `native` logs an error (both then run JavaScript), with
 * the reason and how to build it.
 */
function logEngine(b: Engine): void {
  const choice = engineChoice(b.config)
  const { engine, note } = b.engine
  if (note === null) log.info({ engine, choice }, `engine: ${engine}`)
  else if (choice === 'native') log.error({ engine, choice, reason: note }, 'engine: native requested but unavailable, running the JavaScript engine')
  else log.warn({ engine, choice, reason: note }, 'engine: native unavailable, running the JavaScript engine')
}
