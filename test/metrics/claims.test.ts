// docs/metrics.md against behaviour. Every l4lb_* name the docs mention is
// declared in src/metrics/names.ts; and each "counts X" claim is a scenario run
// on a real forked l4lb: the counter the docs say counts X moves by exactly the
// expected amount, the counters that must not move stay put, and the docs row
// of the counter that moved says so (and the rows that must not claim X don't).
import fs from 'node:fs'
import net from 'node:net'
import t from 'tap'
import { encodeProxyV1 } from '../../src/net/proxy-protocol/encode.ts'
import { METRICS, PROCESS_METRICS } from '../../src/metrics/names.ts'
import { startBackend } from '../fixtures/backend.ts'
import { startCluster } from '../helpers/cluster.ts'
import { holdFor, until } from '../helpers/until.ts'
import { metric } from '../hardening/helpers.ts'

const DOCS = ['docs/metrics.md', 'docs/security.md', 'docs/backend-states.md', 'docs/admin-api.md', 'docs/errors.md', 'README.md']
const read = (rel: string): string => fs.readFileSync(new URL(`../../${rel}`, import.meta.url), 'utf8')
const DECLARED: readonly string[] = [...Object.values(METRICS).map((m) => m.name), ...PROCESS_METRICS]

t.test('every l4lb_* metric the docs name is declared', async (t) => {
  for (const rel of DOCS) {
    for (const [name] of read(rel).matchAll(/\bl4lb_[a-z0-9_*]*[a-z0-9*]/g)) {
      if (name.includes('*')) {
        // a family such as l4lb_process_* or l4lb_worker_*: at least one declared name matches
        const re = new RegExp(`^${name.replaceAll('*', '[a-z0-9_]*')}$`)
        t.ok(DECLARED.some((d) => re.test(d)) || name.startsWith('l4lb_process_') || name.startsWith('l4lb_nodejs_'), `${rel}: ${name} matches declared names`)
      } else {
        t.ok(DECLARED.includes(name), `${rel}: ${name} is declared in src/metrics/names.ts`)
      }
    }
  }
})

/** The Meaning column of a metric's row in docs/metrics.md. */
function docRow(name: string): string {
  const row = read('docs/metrics.md').split('\n').find((l) => l.startsWith(`| \`${name}\` |`))
  if (row === undefined) throw new Error(`${name}: no row in docs/metrics.md`)
  return row.split(' | ').slice(3).join(' | ')
}

const ACCEPTED = 'l4lb_listener_accepted_total'
const REJECTED = 'l4lb_listener_rejected_total'
const PROXY_ERRORS = 'l4lb_listener_proxy_errors_total'
const CONNECTIONS = 'l4lb_backend_connections_total'
const FAILURES = 'l4lb_backend_connect_failures_total'
const LISTENER = [ACCEPTED, REJECTED, PROXY_ERRORS, CONNECTIONS, FAILURES]

const HEADER = encodeProxyV1('203.0.113.7', 40000, '127.0.0.1', 443)

/** Connect from `from`, send `bytes`, resolve when the balancer closes (or after `ms`). */
function poke(port: number, from: string, bytes: Buffer | null, ms = 3000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: from })
    let got = ''
    const timer = setTimeout(() => (s.destroy(), resolve(got)), ms)
    s.on('connect', () => bytes !== null && s.write(bytes))
    s.on('data', (d) => (got += d.toString('latin1')))
    s.on('error', () => {})
    s.on('close', () => (clearTimeout(timer), resolve(got)))
  })
}

interface Claim {
  readonly what: string
  readonly counts: readonly string[] // the counters the docs say count it
  readonly doc: RegExp // ... and the words their docs rows say it with
  readonly moves: Readonly<Record<string, number>> // every counter that moves, and by how much
  readonly docNot?: readonly string[] // counters whose docs row must not claim it
  readonly run: (port: number) => Promise<void>
}

t.test('each documented "counts X" moves exactly the documented counter', async (t) => {
  const a = await startBackend('a')
  t.teardown(() => a.close())
  const lb = await startCluster({
    workers: 1,
    backends: [a],
    pool: { policy: 'round-robin', health: { type: 'none' } },
    listener: { maxconn: 1, 'proxy-protocol': { accept: true, trusted: ['127.0.0.1/32'], timeout: '300ms' } },
  })
  t.teardown(() => lb.stop())
  let held: net.Socket | null = null
  t.teardown(() => held?.destroy())

  const claims: Claim[] = [
    {
      what: 'a served connection',
      counts: [ACCEPTED, CONNECTIONS],
      doc: /accepted|established/,
      moves: { [ACCEPTED]: 1, [CONNECTIONS]: 1 },
      run: async (port) => void (await poke(port, '127.0.0.1', Buffer.concat([HEADER, Buffer.from('hi\n')]), 500)),
    },
    {
      what: 'a PROXY header from an untrusted source',
      counts: [PROXY_ERRORS],
      doc: /trusted/,
      moves: { [ACCEPTED]: 1, [PROXY_ERRORS]: 1 },
      docNot: [REJECTED],
      run: async (port) => void (await poke(port, '127.0.0.2', HEADER)),
    },
    {
      what: 'a malformed PROXY header',
      counts: [PROXY_ERRORS],
      doc: /malformed/,
      moves: { [ACCEPTED]: 1, [PROXY_ERRORS]: 1 },
      docNot: [REJECTED],
      run: async (port) => void (await poke(port, '127.0.0.1', Buffer.from('GET / HTTP/1.1\r\n\r\n'))),
    },
    {
      what: 'a late PROXY header',
      counts: [PROXY_ERRORS],
      doc: /late/,
      moves: { [ACCEPTED]: 1, [PROXY_ERRORS]: 1 },
      docNot: [REJECTED],
      run: async (port) => void (await poke(port, '127.0.0.1', null)),
    },
    {
      what: 'maxconn reached',
      counts: [REJECTED],
      doc: /maxconn/,
      moves: { [REJECTED]: 1, [ACCEPTED]: 1, [CONNECTIONS]: 1 }, // the held one is accepted and served
      run: async (port) => {
        held = net.connect({ port, host: '127.0.0.1' })
        held.on('error', () => {})
        held.write(HEADER)
        await new Promise((r) => held!.once('data', r)) // served: the one slot is taken
        await poke(port, '127.0.0.1', HEADER)
        held.destroy()
        held = null
      },
    },
    {
      what: 'no backend available',
      counts: [REJECTED],
      doc: /no backend/,
      moves: { [ACCEPTED]: 1, [REJECTED]: 1 },
      docNot: [FAILURES],
      run: async (port) => {
        t.equal((await lb.admin('POST', '/backends/a/drain')).status, 200)
        await until('a in drain', async () => (await lb.status()).pools[0].backends[0].state === 'drain', { deadlineMs: 3000, intervalMs: 25 })
        await poke(port, '127.0.0.1', HEADER)
        t.equal((await lb.admin('POST', '/backends/a/ready')).status, 200)
        await until('a ready again', async () => (await lb.status()).pools[0].backends[0].state === 'ready', { deadlineMs: 3000, intervalMs: 25 })
      },
    },
    {
      what: 'a refused connect',
      counts: [FAILURES],
      doc: /refused/,
      moves: { [ACCEPTED]: 1, [FAILURES]: 1 },
      run: async (port) => {
        await a.refuse()
        await poke(port, '127.0.0.1', HEADER)
        await a.restore()
      },
    },
  ]

  const scrape = async (): Promise<Record<string, number>> => {
    const text = (await lb.admin('GET', '/metrics')).body
    return Object.fromEntries(LISTENER.map((n) => [n, metric(text, n)]))
  }
  for (const c of claims) {
    const before = await scrape()
    await c.run(lb.port)
    const delta = (now: Record<string, number>) => Object.fromEntries(LISTENER.map((n) => [n, now[n] - before[n]]))
    const want = Object.fromEntries(LISTENER.map((n) => [n, c.moves[n] ?? 0]))
    // Workers report about once a second: wait for the moves, then one more report for strays.
    await until(`${c.what}: the documented counters move`, async () => {
      const d = delta(await scrape())
      return Object.entries(c.moves).every(([n, v]) => d[n] >= v)
    }, { deadlineMs: 5000, intervalMs: 25 }).catch(() => {}) // on a miss, the t.same below shows what moved
    await holdFor(1200) // the subject: one more worker report, in which a stray count would show
    t.same(delta(await scrape()), want, `${c.what}: counters moved as documented`)
    for (const n of c.counts) t.match(docRow(n), c.doc, `${c.what}: docs/metrics.md says ${n} counts it`)
    for (const n of c.docNot ?? []) t.notMatch(docRow(n), c.doc, `${c.what}: docs/metrics.md does not claim ${n} counts it`)
  }
})
