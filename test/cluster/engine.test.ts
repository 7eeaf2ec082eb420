// Which engine each worker runs is visible: /status names it per worker and
// /metrics counts the sessions handed to the native engine. Runs per engine
// (L4LB_ENGINE reaches the forked workers), so the JavaScript pass shows
// `js` and no hand-off.
import { startBackend } from '../fixtures/backend.ts'
import { startCluster } from '../helpers/cluster.ts'
import { forEachEngine } from '../helpers/engines.ts'
import { pooled, whoServes } from '../helpers/lb.ts'
import { until } from '../helpers/until.ts'

forEachEngine((t, engine) => {
  t.test(`every worker reports engine ${engine}; /metrics counts the hand-offs`, async (t) => {
    const be = await startBackend('a')
    t.teardown(() => be.close())
    const lb = await startCluster({ workers: 2, backends: [be] })
    t.teardown(() => lb.stop())
    const names = await pooled(40, 8, () => whoServes(lb.port))
    t.ok(names.every((n) => n === 'a'), 'served')
    const st = await until('both workers reported their engine', async () => {
      const s = await lb.status()
      return s.workers.length === 2 && s.workers.every((w) => w.engine !== null) ? s : null
    })
    t.same(st.workers.map((w) => [w.engine, w.engineNote]), [[engine, null], [engine, null]], `each worker runs ${engine}, with no complaint`)
    const handoffs = await until('the hand-offs reported', async () => {
      const m = (await lb.admin('GET', '/metrics')).body
      const n = [...m.matchAll(/^l4lb_worker_native_handoffs_total\{worker="\d+"\} (\d+)$/gm)].reduce((a, x) => a + Number(x[1]), 0)
      return engine === 'js' || n >= 40 ? { n, m } : null
    })
    if (engine === 'native') t.ok(handoffs.n >= 40, `${handoffs.n} sessions handed over across the workers`)
    else t.equal(handoffs.n, 0, 'nothing handed over on the JavaScript engine')
    t.match(handoffs.m, /^l4lb_worker_native_fallbacks_total\{worker="\d+"\} 0$/m, 'no fallback')
    // The fixture backend is an IP literal: stage 2, the pump connected every one it took.
    const connects = [...handoffs.m.matchAll(/^l4lb_worker_native_connects_total\{worker="\d+"\} (\d+)$/gm)].reduce((a, x) => a + Number(x[1]), 0)
    t.equal(connects, handoffs.n, engine === 'native' ? 'every hand-off was a native connect' : 'no native connect on the JavaScript engine')
    // A plain listener: stage 3, the pump accepted every client itself, answering them in batches.
    const sum = (name: string): number => [...handoffs.m.matchAll(new RegExp(`^${name}\\{worker="\\d+"\\} (\\d+)$`, 'gm'))].reduce((a, x) => a + Number(x[1]), 0)
    const accepts = sum('l4lb_worker_native_accepts_total')
    const batches = sum('l4lb_worker_native_accept_batches_total')
    t.equal(accepts, handoffs.n, engine === 'native' ? 'every client was accepted natively' : 'none accepted natively on the JavaScript engine')
    t.ok(batches <= accepts && (engine === 'js' || batches >= 1), `answered in ${batches} crossing(s)`)
  })
}, { inProcess: false })
