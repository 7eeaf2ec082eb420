// A cluster worker: waits for its config and the current health snapshot,
// then listens (SO_REUSEPORT, its own socket) and serves. It never probes
// backends: it reports connect outcomes and counters to the primary, and
// applies whatever snapshot the primary publishes.
import { Balancer } from '../proxy/balancer.ts'
import { child, flushLog, setLogLevel } from '../log.ts'
import { type ToPrimary, type ToWorker, open, sender } from './messages.ts'

const log = child('worker')

export function runWorker(): void {
  const send = sender<ToPrimary>((m) => {
    if (process.connected) process.send!(m)
  })
  let balancer: Balancer | null = null
  let statsTimer: NodeJS.Timeout | null = null
  // The snapshot version whose pickers are all built (large tables are built
  // off the loop, so this can trail balancer.snapshot.version for a moment).
  let appliedVersion = 0
  const whenSettled = (version: number): void => {
    void balancer?.settled().then(() => {
      if (version > appliedVersion) appliedVersion = version
      reportStats()
    })
  }

  const reportStats = (): void => {
    if (!balancer) return
    const cpu = process.cpuUsage()
    send({
      type: 'stats',
      stats: balancer.stats(),
      healthy: balancer.healthy(),
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
        const b = new Balancer(msg.config, {
          log,
          workers: msg.workers,
          reportPassive: (pool, id, ok, timedOut) => send({ type: 'passive', pool, id, ok, timedOut }),
        })
        b.applySnapshot(msg.snapshot) // before the first accept: every worker picks alike
        try {
          await b.start()
        } catch (err) {
          send({ type: 'listen-failed', error: (err as Error).message })
          flushLog()
          process.exit(1)
        }
        balancer = b
        appliedVersion = b.snapshot.version // start() resolved after its pickers were built
        const listeners = [...b.listeners.values()].map((l) => ({ name: l.config.name, port: l.address()?.port ?? 0 }))
        send({ type: 'ready', listeners })
        statsTimer = setInterval(reportStats, 500)
        statsTimer.unref()
        reportStats()
        return
      }
      case 'snapshot':
        if (balancer?.applySnapshot(msg.snapshot)) whenSettled(msg.snapshot.version)
        return
      case 'config': {
        if (!balancer) return
        let error: string | null = null
        try {
          setLogLevel(msg.config.log.level)
          await balancer.applyConfig(msg.config)
        } catch (err) {
          error = (err as Error).message
          log.error({ err: error }, 'reload failed in worker')
        }
        await balancer.settled()
        send({ type: 'config-applied', generation: msg.generation, error })
        reportStats()
        return
      }
      case 'shutdown': {
        if (statsTimer) clearInterval(statsTimer)
        if (balancer) {
          await balancer.shutdown(msg.deadlineMs)
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
    if (balancer) void balancer.shutdown(balancer.config.shutdown.drainMs).then(() => process.exit(0))
    else process.exit(0)
  })
  process.on('SIGTERM', () => {}) // the primary coordinates shutdown
  process.on('SIGINT', () => {})
  process.on('SIGHUP', () => {})
}
