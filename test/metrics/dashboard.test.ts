// deploy/grafana/l4lb.json: an importable Grafana dashboard (Prometheus
// datasource chosen by a variable) whose every queried metric name exists in
// /metrics of a real running cluster. A name l4lb does not export fails the
// test, with the panel that queries it.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { startBackend } from '../fixtures/backend.ts'
import { startCluster } from '../helpers/cluster.ts'
import { pooled, whoServes } from '../helpers/lb.ts'
import { dashboardExprs, exportedNames, metricNames, missingNames } from './promql.ts'

const PATH = fileURLToPath(new URL('../../deploy/grafana/l4lb.json', import.meta.url))
const dashboard = JSON.parse(readFileSync(PATH, 'utf8')) as {
  uid: string
  title: string
  panels: { id: number; type: string; title: string; datasource?: { type: string; uid: string }; targets?: { datasource?: { uid: string } }[] }[]
  templating: { list: { name: string; type: string; query: unknown }[] }
}

t.test('metric names are read out of PromQL', async (t) => {
  const cases: [string, string[]][] = [
    ['l4lb_worker_up', ['l4lb_worker_up']],
    ['sum by (pool, backend) (rate(l4lb_backend_connections_total{pool=~"$pool", backend!="x"}[$__rate_interval]))', ['l4lb_backend_connections_total']],
    ['-sum without (worker) (increase(a_total[5m] offset 1h)) / on(instance) group_left(job) b', ['a_total', 'b']],
    ['histogram_quantile(0.99, sum by (le) (rate(x_seconds_bucket[1m]))) > 1e3 and bool c', ['x_seconds_bucket', 'c']],
    ['label_values(l4lb_backend_state{job=~"$job"}, pool)', ['l4lb_backend_state']],
    ['m{s="sum(fake) {q}"} or m', ['m']],
    ['topk(5, foo:bar:rate5m)', ['foo:bar:rate5m']],
  ]
  for (const [expr, names] of cases) t.same(metricNames(expr), names, expr)
})

t.test('exposition names: samples, families, histogram series', async (t) => {
  const names = exportedNames('# HELP h x\n# TYPE h histogram\n# TYPE g gauge\ng{a="b"} 1\nc_total 3\n')
  for (const n of ['h', 'h_bucket', 'h_sum', 'h_count', 'g', 'c_total']) t.ok(names.has(n), n)
  t.notOk(names.has('g_bucket'), 'a gauge has no _bucket')
})

t.test('the dashboard is importable: Prometheus datasource variable, unique panel ids', async (t) => {
  t.equal(dashboard.uid, 'l4lb-overview')
  const dsVar = dashboard.templating.list.find((v) => v.type === 'datasource')
  t.equal(dsVar?.name, 'datasource')
  t.equal(dsVar?.query, 'prometheus', 'the variable lists Prometheus datasources')
  const ids = dashboard.panels.map((p) => p.id)
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique')
  const queried = dashboard.panels.filter((p) => p.type !== 'row')
  t.ok(queried.length >= 12, `${queried.length} panels`)
  for (const p of queried) {
    t.equal(p.datasource?.uid, '${datasource}', `${p.title}: datasource from the variable`)
    t.ok((p.targets ?? []).length > 0, `${p.title}: has queries`)
  }
})

t.test('every metric the dashboard queries exists in /metrics of a running cluster', async (t) => {
  const bes = await Promise.all(['a', 'b'].map((n) => startBackend(n)))
  t.teardown(() => Promise.all(bes.map((b) => b.close())))
  const lb = await startCluster({ workers: 2, backends: bes, pool: { policy: 'round-robin' } })
  t.teardown(() => lb.stop())
  await pooled(10, 5, () => whoServes(lb.port)) // so counters have samples, not only families
  const res = await lb.admin('GET', '/metrics')
  t.equal(res.status, 200)

  const exprs = dashboardExprs(dashboard)
  const queried = new Set(exprs.flatMap((e) => metricNames(e.expr)))
  // What the brief asks the dashboard to cover.
  for (const n of [
    'l4lb_backend_state', 'l4lb_backend_active_connections', 'l4lb_backend_connections_total', 'l4lb_backend_bytes_sent_total',
    'l4lb_backend_bytes_received_total', 'l4lb_backend_connect_failures_total', 'l4lb_backend_check_duration_seconds',
    'l4lb_config_reloads_total', 'l4lb_config_reload_failures_total', 'l4lb_worker_restarts_total',
  ]) t.ok(queried.has(n), `the dashboard queries ${n}`)
  t.ok([...queried].some((n) => n.endsWith('_sum')), 'a histogram series (_sum) is queried: the suffix rule is exercised')

  t.same(missingNames(dashboard, res.body), [], `all ${queried.size} queried names are exported`)

  // The check bites: a panel querying a name l4lb does not export is reported.
  const broken = structuredClone(dashboard) as typeof dashboard
  broken.panels.push({ id: 999, type: 'timeseries', title: 'typo', targets: [{ expr: 'rate(l4lb_backend_conections_total[1m])' } as never] })
  t.same(missingNames(broken, res.body), ['l4lb_backend_conections_total (panel "typo")'])
})
