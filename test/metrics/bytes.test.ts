// One meaning of bytesIn end to end: a worker counts a backend's `bytesIn` as
// the client bytes written to it (as the connection log's `bytesIn`) and the
// primary renders it as l4lb_backend_bytes_sent_total; what the backend
// answered is `bytesOut`, rendered as l4lb_backend_bytes_received_total. The
// backend answers more than it is sent ("a\n" then the echo), so swapping the
// two anywhere between worker and /metrics fails here.
import net from 'node:net'
import t from 'tap'
import { startBackend } from '../fixtures/backend.ts'
import { startCluster } from '../helpers/cluster.ts'
import { until } from '../helpers/until.ts'
import { metric } from '../hardening/helpers.ts'

const SENT = 1000

t.test('/metrics: bytes sent to a backend are the client bytes, bytes received are its answer', async (t) => {
  const a = await startBackend('a') // writes "a\n", then echoes
  t.teardown(() => a.close())
  const lb = await startCluster({ workers: 1, backends: [a], pool: { policy: 'round-robin', health: { type: 'none' } } })
  t.teardown(() => lb.stop())

  const got = await new Promise<number>((resolve, reject) => {
    const c = net.connect({ port: lb.port, host: '127.0.0.1' })
    let n = 0
    const timer = setTimeout(() => reject(new Error('no answer in 5 s')), 5000)
    c.on('data', (d: Buffer) => (n += d.length))
    c.on('error', reject)
    c.on('close', () => {
      clearTimeout(timer)
      resolve(n)
    })
    c.end(Buffer.alloc(SENT, 0x61))
  })
  t.equal(got, SENT + 2, 'the client got the name line and the echo')

  const scrape = async (): Promise<string> => (await lb.admin('GET', '/metrics')).body
  // Workers report every 500 ms.
  t.ok(await until('the worker to report the connection', async () => metric(await scrape(), 'l4lb_backend_bytes_received_total') > 0, { deadlineMs: 5000 }), 'the worker reported the connection within 5 s')
  const text = await scrape()
  t.equal(metric(text, 'l4lb_backend_bytes_sent_total'), SENT, 'bytes sent: the client bytes')
  t.equal(metric(text, 'l4lb_backend_bytes_received_total'), SENT + 2, 'bytes received: the backend answer')
})
