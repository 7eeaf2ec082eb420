// The pool counters of a forked l4lb reach /metrics summed over workers: the
// queue at maxconn (length, dequeued, wait, timeouts, refused) and the retry
// budget (retries, overflows), through each worker's stats report and the
// primary's sum.
import net from 'node:net'
import t from 'tap'
import { refusedPort, startBackend } from '../fixtures/backend.ts'
import { startCluster } from '../helpers/cluster.ts'
import { until } from '../helpers/until.ts'

const metric = (text: string, name: string, pool = 'pool'): number | undefined => {
  const m = new RegExp(`^${name}\\{pool="${pool}"\\} ([0-9.e+-]+)$`, 'm').exec(text)
  return m ? Number(m[1]) : undefined
}

t.test('queue and retry counters in /metrics', async (t) => {
  const be = await startBackend('a')
  t.teardown(() => be.close())
  const gone = await refusedPort()
  const lb = await startCluster({
    workers: 1,
    backends: [be],
    pool: { policy: 'round-robin', 'max-queue': 2, health: { type: 'none' } },
    backend: () => ({ maxconn: 1 }),
    top: { timeouts: { queue: '2s' } }, // longer than the workers' 500 ms stats report, so the gauge is seen
    extraListeners: [{ name: 'retry', bind: '127.0.0.1:0', pool: 'retry' }],
    extraPools: [{
      name: 'retry', policy: 'round-robin', retries: 1, health: { type: 'none' },
      'retry-budget': { 'budget-percent': 0, 'min-retry-concurrency': 0 },
      backends: [{ id: 'gone', host: '127.0.0.1', port: gone }, { id: 'a', host: '127.0.0.1', port: be.port }],
    }],
  })
  t.teardown(() => lb.stop())
  const metrics = async (): Promise<string> => (await lb.admin('GET', '/metrics')).body
  const sockets: net.Socket[] = []
  t.teardown(() => sockets.forEach((s) => s.destroy()))
  const open = (port: number): net.Socket => {
    const s = net.connect({ port, host: '127.0.0.1' })
    s.on('error', () => {})
    sockets.push(s)
    return s
  }
  open(lb.port) // takes the one slot
  await until('the slot taken', () => be.accepted === 1)
  open(lb.port)
  open(lb.port) // two wait
  await until('two waiting in /metrics', async () => metric(await metrics(), 'l4lb_pool_queue_length') === 2, { deadlineMs: 5000 })
  open(lb.port) // the queue is full: refused
  await until('the timeouts counted', async () => metric(await metrics(), 'l4lb_pool_queue_timeouts_total') === 2, { deadlineMs: 8000 })
  const m = await metrics()
  t.equal(metric(m, 'l4lb_pool_queue_refused_total'), 1)
  t.equal(metric(m, 'l4lb_pool_queue_length'), 0)
  t.ok(metric(m, 'l4lb_pool_queue_wait_seconds_total')! >= 3.5, `waited ${metric(m, 'l4lb_pool_queue_wait_seconds_total')} s in all (2 × 2 s)`)

  // The retry pool: round robin starts at `gone`; with a zero budget its client is reset, not retried.
  const bind = (await lb.status()).listeners.find((l) => l.name === 'retry')!.bind // port 0 resolved by the primary
  open(Number(bind.slice(bind.lastIndexOf(':') + 1)))
  await until('one overflow counted', async () => metric(await metrics(), 'l4lb_pool_retry_overflow_total', 'retry') === 1, { deadlineMs: 5000 })
  t.equal(metric(await metrics(), 'l4lb_pool_retries_total', 'retry'), 0)
})
