// /metrics text: every declared name is present, the exposition parses line
// by line, values follow the model at scrape time, and names follow the
// Prometheus conventions (prefix, _total on counters only).
import t from 'tap'
import fs from 'node:fs'
import { createMetrics } from '../../src/metrics/registry.ts'
import { BACKEND_STATES, METRICS, PROCESS_METRICS } from '../../src/metrics/names.ts'
import { fakeModel } from '../admin/fake-model.ts'

interface Family {
  type: string
  help: string
  samples: { name: string; labels: Record<string, string>; value: number }[]
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const LABEL = `([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL},?)*)\\})? (\\S+)$`)

/** Go's ParseFloat, as Prometheus reads values: decimals, NaN and ±Inf in any case. */
function parseValue(v: string): number | null {
  if (/^nan$/i.test(v)) return NaN
  if (/^[+]?inf$/i.test(v)) return Infinity
  if (/^-inf$/i.test(v)) return -Infinity
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v) ? Number(v) : null
}

/** A strict parser for the text format (0.0.4); throws on any line it cannot read. */
function parse(text: string): Map<string, Family> {
  const fams = new Map<string, Family>()
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline')
  for (const line of text.split('\n')) {
    if (line === '') continue
    let m = /^# HELP (\S+) (.*)$/.exec(line)
    if (m) {
      if (fams.has(m[1])) throw new Error(`HELP twice for ${m[1]}`)
      fams.set(m[1], { type: '', help: m[2], samples: [] })
      continue
    }
    m = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line)
    if (m) {
      const f = fams.get(m[1])
      if (!f || f.type !== '') throw new Error(`TYPE without HELP or twice: ${line}`)
      f.type = m[2]
      continue
    }
    m = SAMPLE.exec(line)
    if (!m) throw new Error(`unparseable line: ${line}`)
    const name = m[1]
    const base = [name, name.replace(/_(bucket|sum|count)$/, '')].find((n) => fams.has(n))
    if (base === undefined) throw new Error(`sample before its TYPE: ${line}`)
    const labels: Record<string, string> = {}
    for (const lm of (m[2] ?? '').matchAll(new RegExp(LABEL, 'g'))) labels[lm[1]] = lm[2]
    const value = parseValue(m[m.length - 1])
    if (value === null) throw new Error(`bad value: ${line}`)
    fams.get(base)!.samples.push({ name, labels, value })
  }
  return fams
}

t.test('every declared metric appears, typed and documented, and the text parses', async (t) => {
  const m = fakeModel()
  const text = await createMetrics(m, { processMetrics: true }).render()
  const fams = parse(text)
  for (const def of Object.values(METRICS)) {
    const f = fams.get(def.name)
    t.ok(f, `${def.name} present`)
    if (!f) continue
    t.equal(f.type, def.type, `${def.name} type`)
    t.ok(f.samples.length > 0, `${def.name} has samples`)
    for (const s of f.samples) t.same(Object.keys(s.labels).sort(), [...def.labels].sort(), `${def.name} labels`)
    t.match(def.name, /^l4lb_[a-z0-9_]+$/, 'prefix and snake case')
    t.equal(def.name.endsWith('_total'), def.type === 'counter', `${def.name}: _total iff counter`)
  }
  for (const name of PROCESS_METRICS) t.ok(fams.has(name), `process metric ${name}`)
  const declared = new Set(Object.values(METRICS).map((d) => d.name))
  t.equal(declared.size, Object.keys(METRICS).length, 'no name declared twice')
})

t.test('values come from the model at scrape time', async (t) => {
  const m = fakeModel()
  const metrics = createMetrics(m, { processMetrics: false })
  let fams = parse(await metrics.render())
  const val = (name: string, labels: Record<string, string>) =>
    fams.get(name)?.samples.find((s) => JSON.stringify(s.labels) === JSON.stringify(labels))?.value
  const web = { pool: 'web', backend: '10.0.0.1:3128' }
  t.equal(val('l4lb_backend_active_connections', web), 3)
  t.equal(val('l4lb_backend_connections_total', web), 100)
  t.equal(val('l4lb_backend_bytes_received_total', web), 100000)
  t.equal(val('l4lb_backend_bytes_sent_total', web), 1000)
  t.equal(val('l4lb_backend_connect_failures_total', { pool: 'web', backend: 'a' }), 1)
  t.equal(val('l4lb_backend_check_duration_seconds', web), 0.0015)
  t.equal(val('l4lb_backend_check_duration_seconds', { pool: 'alt', backend: 'shared' }), undefined, 'no check yet: no sample')
  for (const st of BACKEND_STATES) t.equal(val('l4lb_backend_state', { ...web, state: st }), st === 'ready' ? 1 : 0, st)
  t.equal(val('l4lb_listener_accepted_total', { listener: 'main' }), 108)
  t.equal(val('l4lb_listener_rejected_total', { listener: 'main' }), 2)
  t.equal(val('l4lb_listener_proxy_errors_total', { listener: 'main' }), 1)
  t.equal(val('l4lb_worker_restarts_total', { worker: '2' }), 2)
  t.equal(val('l4lb_worker_up', { worker: '2' }), 0)
  t.equal(val('l4lb_worker_resident_memory_bytes', { worker: '1' }), 50e6)
  t.equal(val('l4lb_worker_resident_memory_bytes', { worker: '2' }), undefined, 'no report: no sample')
  t.equal(val('l4lb_config_reload_failures_total', {}), 1)

  // the model changes: the next scrape shows it, and removed backends vanish
  m.backends[0].health = 'down'
  m.backends[0].total = 150
  m.backends.pop()
  m.healthVersion = 7
  fams = parse(await metrics.render())
  t.equal(val('l4lb_backend_state', { ...web, state: 'down' }), 1)
  t.equal(val('l4lb_backend_state', { ...web, state: 'ready' }), 0)
  t.equal(val('l4lb_backend_connections_total', web), 150)
  t.equal(val('l4lb_health_snapshot_version', {}), 7)
  t.equal(val('l4lb_backend_active_connections', { pool: 'alt', backend: 'shared' }), undefined, 'removed backend gone')
})

t.test('label values are escaped', async (t) => {
  const m = fakeModel()
  m.backends[0].id = 'we"ird\\id'
  const fams = parse(await createMetrics(m, { processMetrics: false }).render())
  const ids = fams.get('l4lb_backend_active_connections')!.samples.map((s) => s.labels.backend)
  t.ok(ids.includes('we\\"ird\\\\id'))
})

t.test('one stats() call per scrape', async (t) => {
  const m = fakeModel()
  let calls = 0
  const stats = m.stats
  m.stats = () => (calls++, stats())
  await createMetrics(m, { processMetrics: false }).render()
  t.equal(calls, 1)
})

t.test('docs/metrics.md documents every declared metric', async (t) => {
  const doc = fs.readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8')
  for (const def of Object.values(METRICS)) t.match(doc, `| \`${def.name}\` | ${def.type} |`, def.name)
  for (const name of PROCESS_METRICS) t.match(doc, `\`${name}\``, name)
})
