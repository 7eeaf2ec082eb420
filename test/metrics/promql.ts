// Metric names in PromQL expressions (as Grafana stores them) and in a
// Prometheus text exposition, for checking that a dashboard only queries
// series l4lb exports.
//
// The extractor is a tokenizer, not a full PromQL parser: it drops string
// literals, label matchers `{...}`, ranges `[...]`, grouping clauses
// (`by (...)`, `without`, `on`, `ignoring`, `group_left`, `group_right`),
// Grafana variables (`$pool`, `${datasource}`) and numbers or durations; what
// is left that is an identifier not followed by `(` (a function or an
// aggregation) and not a keyword is a metric name. Grafana's
// `label_values(EXPR, label)` variable query keeps EXPR only.

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan', 'start', 'end'])
const GROUPING = /\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g

/** Metric names an expression selects, in order of first appearance, without duplicates. */
export function metricNames(expr: string): string[] {
  let e = expr.trim()
  const lv = /^label_values\s*\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)$/s.exec(e)
  if (lv !== null) e = lv[1]
  e = e
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\[[^\]]*\]/g, '[]')
    .replace(GROUPING, ' ')
    .replace(/\$\{[^}]*\}|\$[a-zA-Z_][a-zA-Z0-9_]*/g, ' ')
  const names: string[] = []
  for (const m of e.matchAll(/(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const name = m[1]
    if (m[2] !== undefined || KEYWORDS.has(name.toLowerCase()) || /^label_values$/.test(name)) continue
    if (!names.includes(name)) names.push(name)
  }
  return names
}

/**
 * Every series name a text exposition (format 0.0.4) can be queried by: each
 * sample's name, each `# TYPE` family, and for a histogram family its
 * `_bucket`, `_sum` and `_count` series (a summary: `_sum`, `_count`), even
 * when they carry no sample yet.
 */
export function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>()
  for (const line of exposition.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line)
    if (type !== null) {
      const [, base, kind] = type
      names.add(base)
      if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(base + s)
      if (kind === 'summary') for (const s of ['_sum', '_count']) names.add(base + s)
      continue
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line)
    if (sample !== null) names.add(sample[1])
  }
  return names
}

/** Every PromQL expression of a Grafana dashboard: panel targets (rows' nested panels too), variable queries, annotations. */
export function dashboardExprs(dashboard: unknown): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = []
  const d = dashboard as {
    panels?: Panel[]
    templating?: { list?: { name: string; type: string; query?: string | { query?: string } }[] }
    annotations?: { list?: { name: string; expr?: string }[] }
  }
  interface Panel {
    title?: string
    panels?: Panel[]
    targets?: { refId?: string; expr?: string }[]
  }
  const walk = (panels: Panel[] | undefined): void => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (typeof t.expr === 'string') out.push({ where: `panel "${p.title}" ${t.refId ?? ''}`.trim(), expr: t.expr })
      walk(p.panels)
    }
  }
  walk(d.panels)
  for (const v of d.templating?.list ?? []) {
    if (v.type !== 'query') continue
    const q = typeof v.query === 'string' ? v.query : v.query?.query
    if (typeof q === 'string') out.push({ where: `variable $${v.name}`, expr: q })
  }
  for (const a of d.annotations?.list ?? []) if (typeof a.expr === 'string') out.push({ where: `annotation "${a.name}"`, expr: a.expr })
  return out
}

/** Names the dashboard queries that the exposition lacks, each with where it is queried. */
export function missingNames(dashboard: unknown, exposition: string): string[] {
  const have = exportedNames(exposition)
  const missing: string[] = []
  for (const { where, expr } of dashboardExprs(dashboard)) {
    for (const n of metricNames(expr)) if (!have.has(n)) missing.push(`${n} (${where})`)
  }
  return missing
}
