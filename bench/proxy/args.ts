// Command-line flags of `npm run bench -- [flags]`.
import { cpus } from 'node:os'
import { parseArgs } from 'node:util'

export const MEASURES = ['connrate', 'keepalive', 'iperf', 'idle'] as const
export type Measure = (typeof MEASURES)[number]

export interface Options {
  readonly quick: boolean
  readonly rounds: number
  readonly seconds: number // each wrk run
  readonly iperfSeconds: number // each iperf3 run
  readonly warmupSeconds: number
  readonly idle: number // idle connections for the memory measure
  readonly workers: number // l4lb's N
  readonly only: readonly string[] | null // proxy ids; null = all
  readonly measures: readonly Measure[]
  readonly setup: boolean
  readonly docs: boolean
  readonly tag: string | null // results file base name instead of latest (no dated copy, no docs)
}

export const USAGE = `usage: npm run bench -- [flags]
  --quick              1 round, 2 s runs, 1,000 idle connections (CI smoke)
  --rounds N           interleaved rounds (default 3)
  --duration S         seconds per wrk run (default 10)
  --iperf-duration S   seconds per iperf3 run (default 8)
  --warmup S           seconds of unrecorded load per proxy before round 1 (default 2, --quick 0)
  --idle K             idle connections for the memory measure (default 9000, max ~9,400)
  --workers N          l4lb's N workers (default: number of CPUs, at least 2)
  --only a,b           only these proxies (direct, haproxy-1, haproxy-2, haproxy-splice-1, nginx-1, nginx-2,
                       l4lb-1, l4lb-N, l4lb-native-s1-1, l4lb-native-s2-1, l4lb-native-1, l4lb-native-N)
  --skip m,n           skip measures: ${MEASURES.join(', ')}
  --measure m,n        only these measures (the opposite of --skip)
  --no-setup           do not run bench/setup.sh (the tools must be installed)
  --no-docs            do not rewrite the table in docs/performance.md (full runs only)
  --tag NAME           write bench/results/NAME.* instead of latest.* (no dated copy, docs untouched)`

function positive(name: string, v: string | undefined, dflt: number, allowZero = false): number {
  if (v === undefined) return dflt
  const n = Number(v)
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !allowZero)) throw new Error(`--${name} wants a positive number, got ${v}`)
  return n
}

/** Parses argv; throws with a message on a bad flag. Returns null for --help. */
export function parseOptions(argv: readonly string[]): Options | null {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      'iperf-duration': { type: 'string' },
      warmup: { type: 'string' },
      idle: { type: 'string' },
      workers: { type: 'string' },
      only: { type: 'string' },
      skip: { type: 'string' },
      measure: { type: 'string' },
      'no-setup': { type: 'boolean', default: false },
      'no-docs': { type: 'boolean', default: false },
      tag: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  })
  if (values.help) return null
  const quick = values.quick === true
  const skip = (values.skip ?? '').split(',').filter(Boolean)
  for (const s of skip) if (!(MEASURES as readonly string[]).includes(s)) throw new Error(`--skip: unknown measure ${s}`)
  if (values.tag !== undefined && !/^[\w.-]+$/.test(values.tag)) throw new Error(`--tag wants letters, digits, _ . -; got ${values.tag}`)
  const wanted = values.measure === undefined ? null : values.measure.split(',').filter(Boolean)
  for (const m of wanted ?? []) if (!(MEASURES as readonly string[]).includes(m)) throw new Error(`--measure: unknown measure ${m}`)
  return {
    quick,
    rounds: Math.round(positive('rounds', values.rounds, quick ? 1 : 3)),
    seconds: Math.round(positive('duration', values.duration, quick ? 2 : 10)),
    iperfSeconds: Math.round(positive('iperf-duration', values['iperf-duration'], quick ? 2 : 8)),
    warmupSeconds: Math.round(positive('warmup', values.warmup, quick ? 0 : 2, true)),
    idle: Math.round(positive('idle', values.idle, quick ? 1000 : 9000)),
    workers: Math.round(positive('workers', values.workers, Math.max(2, cpus().length))),
    only: values.only ? values.only.split(',').filter(Boolean) : null,
    measures: MEASURES.filter((m) => !skip.includes(m) && (wanted === null || wanted.includes(m))),
    setup: !values['no-setup'],
    docs: !values['no-docs'] && !quick && values.tag === undefined,
    tag: values.tag ?? null,
  }
}
