// The success rate over observe-window on a real forked primary with two
// workers, both engines: /status and /metrics show each backend's CONNECT
// answers over the window, counted in every worker (the primary sums the
// workers' counters), and once the window has passed with no answer the
// rate is "no data" (null, no /metrics sample), neither 100% nor 0%.
// Passive ejection is off and checks are none: only the counting is in question.
import net from 'node:net'
import { startBackend } from '../fixtures/backend.ts'
import { startCluster } from '../helpers/cluster.ts'
import { until } from '../helpers/until.ts'
import { forEachEngine } from '../helpers/engines.ts'
import type { StatusDoc } from '../../src/admin/model.ts'

const REQ = 'CONNECT origin.example:443 HTTP/1.1\r\nHost: origin.example:443\r\n\r\n'
const TUNNELS = 12

async function tunnel(port: number): Promise<void> {
  const sock = net.connect({ port, host: '127.0.0.1' })
  let got = ''
  sock.setEncoding('latin1')
  sock.on('data', (d: string) => (got += d))
  sock.on('error', () => {})
  try {
    sock.write(REQ)
    await until('a status line', () => got.includes('\r\n\r\n'), { deadlineMs: 5000 })
  } finally {
    sock.destroy()
  }
}

const observed = (doc: StatusDoc, id: string) => doc.pools[0].backends.find((b) => b.id === id)!.observed

forEachEngine((t) => {
  t.test('per-backend success rate over the window, all workers, then no data', async (t) => {
    const bad = await startBackend('bad', 'connect')
    const good = await startBackend('good', 'connect')
    bad.connectStatus = 503
    t.teardown(() => Promise.all([bad.close(), good.close()]))
    const lb = await startCluster({
      workers: 2,
      backends: [bad, good],
      pool: { policy: 'round-robin', observe: 'http-connect', 'observe-window': '3s', passive: { consecutive: 0 }, health: { type: 'none' } },
    })
    t.teardown(() => lb.stop())
    t.same(observed(await lb.status(), 'bad'), { windowMs: 3000, ok: 0, failed: 0, successRatio: null }, 'before any answer: no data')
    for (let i = 0; i < TUNNELS; i++) await tunnel(lb.port)
    t.equal(bad.accepted + good.accepted, TUNNELS)
    // Workers report every 500 ms, the primary feeds its windows every second.
    const doc = await until('every answer in the window', async () => {
      const d = await lb.status()
      const b = observed(d, 'bad')!
      const g = observed(d, 'good')!
      return b.failed + g.ok === TUNNELS ? d : null
    }, { deadlineMs: 5000, intervalMs: 100 })
    t.same(observed(doc, 'bad'), { windowMs: 3000, ok: 0, failed: bad.accepted, successRatio: 0 })
    t.same(observed(doc, 'good'), { windowMs: 3000, ok: good.accepted, failed: 0, successRatio: 1 })
    const metrics = (await lb.admin('GET', '/metrics')).body
    t.match(metrics, /^l4lb_backend_observed_success_ratio\{pool="pool",backend="bad"\} 0$/m)
    t.match(metrics, /^l4lb_backend_observed_success_ratio\{pool="pool",backend="good"\} 1$/m)
    t.match(metrics, new RegExp(`^l4lb_backend_observed_window_failures\\{pool="pool",backend="bad"\\} ${bad.accepted}$`, 'm'))
    await until('the answers age out of the 3 s window', async () => observed(await lb.status(), 'bad')!.successRatio === null, { deadlineMs: 6000, intervalMs: 200 })
    t.same(observed(await lb.status(), 'good'), { windowMs: 3000, ok: 0, failed: 0, successRatio: null }, 'no data: neither 100% nor 0%')
    t.notMatch((await lb.admin('GET', '/metrics')).body, /^l4lb_backend_observed_success_ratio\{/m, 'no ratio sample without data')
  })
}, { inProcess: false })
