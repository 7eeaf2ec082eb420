// The health document's agent views (src/fleet/health-doc.ts), pure: the
// leader publishes each backend's agent view (not its local counters), a
// reader takes a document with or without them, and decode refuses a
// malformed view with an Error that names the backend and the field; a node
// that fell back follows again only on a document composed after a write the
// leader saw commit (rejoin), never on late ones.
import t from 'tap'
import { decodeHealthDoc, healthDoc, rejoin, type Fence, type HealthDoc } from '../../src/fleet/health-doc.ts'
import type { AgentView } from '../../src/health/agent-poller.ts'
import type { BackendHealth } from '../../src/health/types.ts'

const view = (over: Partial<AgentView> = {}): AgentView => ({
  address: '10.0.0.9:9999', down: false, admin: 'drain', percent: 40, line: 'drain 40%', lineAt: 900, ignored: null, polls: 12, ignoredTotal: 2, source: 'local', leader: null, ...over,
})
const row = (id: string, agent: AgentView | null): BackendHealth => ({
  pool: 'web', id, verdict: 'up', ejectedUntil: null, check: { result: { ok: true, durationMs: 1, detail: 'L4OK' }, at: 900 }, changedAt: 800, ejections: 0, slowstartSince: null, agent,
})

t.test('encode: every backend with an agent has its view, without the local counters', async (t) => {
  const doc = healthDoc('lb-a', 7, 3, 1000, [row('b1', view()), row('b2', null)])
  t.same(doc.agents, { 'web/b1': { address: '10.0.0.9:9999', down: false, admin: 'drain', percent: 40, line: 'drain 40%', lineAt: 900, ignored: null } })
  t.same(healthDoc('lb-a', 7, 3, 1000, [row('b2', null)]).agents, {}, 'no agent at all: an empty object (the leader still polls them for the fleet)')
  const back = decodeHealthDoc(JSON.stringify(doc))
  t.same(back, doc, 'decode(encode(doc)) is doc')
  const down = healthDoc('lb-a', 7, 4, 1000, [row('b1', view({ down: true, admin: 'maint', percent: null, line: null, lineAt: null, ignored: 'connect ECONNREFUSED' }))])
  t.same(decodeHealthDoc(JSON.stringify(down)), down, 'nulls and a reason survive too')
})

t.test('a document without agent views (an older leader) is still read', async (t) => {
  const doc = healthDoc('lb-a', 7, 3, 1000, [row('b1', view())])
  const { agents: _, ...old } = doc
  const back = decodeHealthDoc(JSON.stringify(old))
  t.notOk(back instanceof Error, 'decoded')
  t.equal((back as HealthDoc).agents, undefined, 'no agents: followers poll their agents themselves')
  t.same((back as HealthDoc).backends, doc.backends)
})

t.test('decode refuses a malformed agent view, naming the backend and the field', async (t) => {
  const good = healthDoc('lb-a', 7, 3, 1000, [row('b1', view())])
  const a = good.agents!['web/b1']
  const cases: [string, unknown, RegExp][] = [
    ['agents is a list', [], /^agents must be an object of agent views by backend$/],
    ['agents is null', null, /^agents must be an object/],
    ['a view is a string', { 'web/b1': 'drain' }, /^agent of backend web\/b1: not an object$/],
    ['no address', { 'web/b1': { ...a, address: undefined } }, /^agent of backend web\/b1: address must be a host:port string/],
    ['empty address', { 'web/b1': { ...a, address: '' } }, /address must be/],
    ['down is a string', { 'web/b1': { ...a, down: 'yes' } }, /^agent of backend web\/b1: down must be true or false$/],
    ['unknown admin', { 'web/b1': { ...a, admin: 'sleep' } }, /^agent of backend web\/b1: admin must be ready, drain or maint, not "sleep"$/],
    ['admin missing', { 'web/b1': { ...a, admin: undefined } }, /admin must be ready, drain or maint, not missing$/],
    ['percent over the bound', { 'web/b1': { ...a, percent: 25_601 } }, /^agent of backend web\/b1: percent must be null or an integer 0\.\.25600$/],
    ['percent negative', { 'web/b1': { ...a, percent: -1 } }, /percent must be/],
    ['percent fractional', { 'web/b1': { ...a, percent: 1.5 } }, /percent must be/],
    ['percent a string', { 'web/b1': { ...a, percent: '50%' } }, /percent must be/],
    ['line a number', { 'web/b1': { ...a, line: 5 } }, /^agent of backend web\/b1: line must be null or a string of at most 1024 characters$/],
    ['line too long', { 'web/b1': { ...a, line: 'x'.repeat(1025) } }, /line must be/],
    ['lineAt a string', { 'web/b1': { ...a, lineAt: 'now' } }, /^agent of backend web\/b1: lineAt must be null or epoch ms$/],
    ['ignored a number', { 'web/b1': { ...a, ignored: 3 } }, /^agent of backend web\/b1: ignored must be null or a string/],
  ]
  for (const [what, agents, message] of cases) {
    const r = decodeHealthDoc(JSON.stringify({ ...good, agents }))
    t.ok(r instanceof Error, `${what}: refused`)
    if (r instanceof Error) t.match(r.message, message, `${what}: ${r.message}`)
  }
})

t.test('acked: encoded, decoded, bounded by seq', async (t) => {
  const doc = healthDoc('lb-a', 7, 5, 1000, [row('b1', null)], 4)
  t.equal((decodeHealthDoc(JSON.stringify(doc)) as HealthDoc).acked, 4)
  t.equal(healthDoc('lb-a', 7, 1, 1000, []).acked, 0, 'none confirmed yet: 0')
  const { acked: _, ...old } = doc
  t.equal((decodeHealthDoc(JSON.stringify(old)) as HealthDoc).acked, undefined, 'absent (an older leader): still read')
  for (const bad of [5, 6, -1, 1.5, '4', null]) {
    const r = decodeHealthDoc(JSON.stringify({ ...doc, acked: bad }))
    t.ok(r instanceof Error && /^acked must be an integer from 0 to seq - 1$/.test(r.message), `acked ${JSON.stringify(bad)} with seq 5: refused`)
  }
})

/** Feed documents (term, seq, acked) to a node that just fell back; the seqs it follows on. */
function followsOn(docs: readonly [number, number, number | undefined][]): string[] {
  let since: Fence | null = null
  const out: string[] = []
  for (const [term, seq, acked] of docs) {
    const r = rejoin(since, { term, seq, acked })
    since = r.since
    if (r.follow) out.push(`${term}/${seq}`)
  }
  return out
}

t.test('rejoin: late documents the leader composed while cut off are never followed', async (t) => {
  // Term 9's leader saw seq 36 commit, then the store lost quorum: 37-39 were given up on by the
  // leader but committed once quorum was back (acked 36); its first confirmed write is 40 (acked
  // still 36), and 41 is composed after 40 landed.
  t.same(followsOn([[9, 37, 36], [9, 38, 36], [9, 39, 36], [9, 40, 36], [9, 41, 40]]), ['9/41', ], 'only 41 (and everything after)')
  t.same(followsOn([[9, 37, 36], [9, 38, 36], [9, 39, 36], [9, 40, 36], [9, 41, 40], [9, 42, 41]]), ['9/41', '9/42'])
  // The previous rule (follow on the second new document) followed 38, a late one.
  t.same(followsOn([[9, 37, undefined], [9, 38, undefined]]), ['9/38'], 'an older leader without acked: the second document')
})

t.test('rejoin: a new term starts over; a follower that skipped documents (polling) still follows', async (t) => {
  t.same(followsOn([[9, 37, 36], [9, 38, 36], [12, 1, 0], [12, 2, 1]]), ['12/2'], 'late documents of term 9, then a new leader: its second document')
  t.same(followsOn([[12, 3, 2], [12, 7, 6]]), ['12/7'], 'seqs 4-6 not seen (read by polling): 7 was composed after 6, which landed after 3')
  t.same(followsOn([[12, 3, 2]]), [], 'one document proves nothing')
})
