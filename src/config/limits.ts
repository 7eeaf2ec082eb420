// The supported scale: one table of every bound `check` enforces on inputs
// that cost memory or CPU at run time. A config inside these limits reloads
// without stalling the admin API, the data path or signals (figures in
// docs/performance.md, "Scale"); one outside is rejected with the limit and
// the key path, before anything is built (pure: no config types needed). docs/configuration.md ("Limits")
// is generated from this table.
import { takesOption } from '../balancer/policies.ts'
import { isActiveCheck } from './check-kinds.ts'

export interface Limit {
  readonly value: number
  readonly what: string // the thing counted, as the error message words it
  readonly why: string // one line for the docs: what grows with it
}

export const LIMITS = {
  /** Backends in one pool: every worker builds a picker table over them. */
  backendsPerPool: {
    value: 10_000,
    what: 'backends in one pool',
    why: 'each worker builds the pool\'s picker (Maglev table, ring points) over them; the primary probes each one',
  },
  /** Backends over all pools: health entries, snapshot size, IPC per publish. */
  backendsTotal: {
    value: 20_000,
    what: 'backends over all pools',
    why: 'the primary keeps one health entry per backend and sends every backend\'s state to every worker on each change',
  },
  pools: { value: 256, what: 'pools', why: 'each pool has its own picker table in every worker (65,537 Maglev slots = 256 KiB at least)' },
  listeners: { value: 256, what: 'listeners', why: 'each worker opens every listener (one socket each)' },
  /** Maglev slots over all pools, per worker: 4 bytes a slot. */
  maglevSlotsTotal: {
    value: 33_554_432,
    what: 'Maglev table slots over all maglev pools',
    why: 'each slot is 4 bytes in every worker (128 MiB at the limit) and costs build time on every change',
  },
  /** CIDRs in one listener's proxy-protocol.trusted (matched linearly per connection). */
  trustedCidrs: { value: 1024, what: 'trusted CIDRs', why: 'every accepted connection is matched against the list, entry by entry' },
  /** Active probes per second the primary may start, summed over backends at their `interval`. */
  probesPerSecond: {
    value: 5000,
    what: 'health probes per second (backends / interval, summed over pools, agent polls included)',
    why: 'the one health checker in the primary opens one connection per probe and per agent poll; a storm starves the admin API and the backends',
  },
} as const satisfies Record<string, Limit>

/** The message for `count` over `limit`: the count, the limit, `detail` (e.g. the pool that weighs most) and where the scale is documented. */
export function overLimit(limit: Limit, count: number, detail = ''): string {
  return `${count.toLocaleString('en-US')} ${limit.what} is over the supported limit of ${limit.value.toLocaleString('en-US')}${detail} (see docs/performance.md, "Scale")`
}

/** Markdown list of every limit, for docs/configuration.md. */
export function limitsMarkdown(): string {
  return Object.values(LIMITS as Record<string, Limit>)
    .map((l) => `- at most ${l.value.toLocaleString('en-US')} ${l.what}: ${l.why};`)
    .join('\n')
}

export interface ScaleInput {
  readonly pools?: readonly ({ policy?: string; maglevTableSize?: number; backends?: readonly ({ agent?: { intervalMs?: number } | null } | undefined)[]; health?: { type?: string; intervalMs?: number } } | undefined)[]
}

/**
 * The limits that span pools: backends over all pools, Maglev slots over all
 * maglev pools, and the probe rate (backends / interval, summed over pools with
 * active checks). Reports at `pools` with the figure, the limit and the pool
 * that weighs most; per-list limits are enforced by the schema's lists.
 */
export function checkScale(c: ScaleInput, report: (subPath: string, message: string) => void): void {
  const pools = (c.pools ?? []).flatMap((p, i) => (p === undefined ? [] : [{ p, i }]))
  const biggest = (weigh: (p: (typeof pools)[number]['p']) => number): { total: number; at: string } => {
    let total = 0
    let top = -1
    let topWeight = -1
    for (const { p, i } of pools) {
      const w = weigh(p)
      total += w
      if (w > topWeight) [top, topWeight] = [i, w]
    }
    return { total, at: top < 0 ? '' : ` (pools[${top}] has ${Math.round(topWeight).toLocaleString('en-US')})` }
  }
  const backends = biggest((p) => p.backends?.length ?? 0)
  if (backends.total > LIMITS.backendsTotal.value) report('pools', overLimit(LIMITS.backendsTotal, backends.total, backends.at))
  const slots = biggest((p) => (p.policy !== undefined && takesOption(p.policy, 'maglev-table-size') ? (p.maglevTableSize ?? 0) : 0))
  if (slots.total > LIMITS.maglevSlotsTotal.value) report('pools', overLimit(LIMITS.maglevSlotsTotal, slots.total, slots.at))
  const probes = biggest((p) => {
    // Agent polls (pools[].backends[].agent) are connections of the same checker.
    let agents = 0
    for (const b of p.backends ?? []) if (b?.agent?.intervalMs !== undefined && b.agent.intervalMs > 0) agents += 1000 / b.agent.intervalMs
    const h = p.health
    if (h === undefined || (h.type !== undefined && !isActiveCheck(h.type)) || h.intervalMs === undefined || h.intervalMs <= 0) return agents
    return ((p.backends?.length ?? 0) * 1000) / h.intervalMs + agents
  })
  if (probes.total > LIMITS.probesPerSecond.value) {
    report('pools', overLimit(LIMITS.probesPerSecond, Math.ceil(probes.total), `${probes.at}; raise health.interval or use fewer backends`))
  }
}
