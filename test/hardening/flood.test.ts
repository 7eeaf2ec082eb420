// Overload: a forked primary with 2 workers and `maxconn: 200` on its
// listener takes a flood of 400 concurrent idle connections. The excess is
// refused cleanly (closed at once, counted as rejected), memory stays bounded
// (RSS of primary + workers from /proc), and service recovers at once when
// the flood stops.
import net from 'node:net'
import { startBackend } from '../fixtures/backend.ts'
import { type ClusterSpec, clusterYaml, startCluster } from '../helpers/cluster.ts'
import { pooled, whoServes } from '../helpers/lb.ts'
import { holdServed, mb, metric, rssOf } from './helpers.ts'
import { until } from '../helpers/until.ts'
import { forEachEngine } from '../helpers/engines.ts'

const MAXCONN = 200
const FLOOD = 2 * MAXCONN


forEachEngine((t) => {
  t.test(`a flood of ${FLOOD} on maxconn ${MAXCONN}: excess refused and counted, memory bounded, instant recovery`, async (t) => {
    const bes = await Promise.all(['a', 'b'].map((n) => startBackend(n)))
    t.teardown(() => Promise.all(bes.map((b) => b.close())))
    const spec: ClusterSpec = { workers: 2, backends: bes, pool: { health: { type: 'none' } }, top: { timeouts: { idle: '60s' } } }
    const c = await startCluster(spec)
    t.teardown(() => c.stop())
    const held: net.Socket[] = []
    t.teardown(() => {
      for (const s of held) s.destroy()
    })
    c.writeConfig(clusterYaml({ ...spec, listener: { maxconn: MAXCONN } }, c.port, c.adminPort))
    t.equal((await c.admin('POST', '/reload')).status, 200, 'maxconn applied by reload')

    const pids = async (): Promise<number[]> => {
      const s = await c.status()
      return [s.pid, ...s.workers.map((w) => w.pid)]
    }
    const rss = async (): Promise<number> => (await pids()).reduce((sum, p) => sum + rssOf(p), 0)
    // Warm up (JIT, buffers), then the baseline.
    await pooled(100, 10, () => whoServes(c.port))
    const before = await rss()

    const results = await pooled(FLOOD, 100, () => holdServed(c.port))
    for (const s of results) if (s !== null) held.push(s)
    const refused = FLOOD - held.length
    t.ok(held.length <= MAXCONN, `at most maxconn held (${held.length})`)
    t.ok(held.length >= MAXCONN * 0.75, 'and most of maxconn used (the kernel spreads connections over 2 workers)')
    t.equal(await holdServed(c.port), null, 'one more while flooded is refused')
    let peak = await rss()
    for (let i = 0; i < 5; i++) peak = Math.max(peak, await rss())
    t.comment(`flood ${FLOOD}: held ${held.length}, refused ${refused + 1}; RSS primary+workers ${mb(before)} before, ${mb(peak)} peak (+${mb(peak - before)})`)
    t.ok(peak - before < 64 * 1048576, 'memory bounded: under 64 MB more for the flood')

    const rejected = async (): Promise<number> => metric((await c.admin('GET', '/metrics')).body, 'l4lb_listener_rejected_total')
    const n = await until(`the ${refused + 1} refused connections counted`, async () => {
      const got = await rejected()
      return got >= refused + 1 ? got : null
    }, { deadlineMs: 10_000, intervalMs: 100 })
    t.equal(n, refused + 1, 'every refused connection counted as rejected, and nothing else')

    for (const s of held.splice(0)) s.destroy()
    const back = await until('served again as soon as the flood stops', () => holdServed(c.port, 2000), { deadlineMs: 10_000 })
    back.destroy()
    await until('every connection closed in the balancer too', async () => (await c.status()).listeners.every((l) => l.active === 0), { intervalMs: 50 })
    await until('and on the backends', () => bes.every((b) => b.sockets.size === 0))
    t.equal(c.child.exitCode, null, 'the primary kept running')
  })
}, { inProcess: false })
