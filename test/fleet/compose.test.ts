// The pure parts of the fleet: a node file with `fleet:` (its local part),
// composing it with a store value (every refusal names key and revision),
// the health document's decoding and fencing, and the last-known-good file.
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import YAML from 'yaml'
import { parseConfig } from '../../src/config/load.ts'
import { composeConfig, STORE_MAX_BYTES } from '../../src/fleet/compose.ts'
import { decodeHealthDoc, healthDoc, judge } from '../../src/fleet/health-doc.ts'
import { readLastKnownGood, writeLastKnownGood } from '../../src/fleet/lkg.ts'
import type { FleetConfig } from '../../src/config/types.ts'
import { checkCommand } from '../../src/cli/check.ts'
import { fleetCli } from '../helpers/fleet.ts'
import { Election } from 'etcd3'
import { fleetKeys } from '../../src/fleet/store.ts'

const LOCAL = { workers: 1, listeners: [{ name: 'main', bind: '127.0.0.1:0', pool: 'web' }], admin: { enabled: false }, fleet: { endpoints: ['http://127.0.0.1:2379'], node: 'lb-a', 'state-file': '/tmp/x' } }
const SHARED = YAML.stringify({ pools: [{ name: 'web', backends: [{ host: '127.0.0.1', port: 9001 }], health: { type: 'none' } }], timeouts: { connect: '2s' } })
const src = { key: '/l4lb/config', revision: 42 }

function local(): FleetConfig {
  const r = parseConfig(YAML.stringify(LOCAL))
  if (!r.ok || r.config.fleet === null) throw new Error(JSON.stringify(r))
  return r.config.fleet
}

t.test('a node file with fleet: is its local part; defaults filled; pools and timeouts refused there', async (t) => {
  const f = local()
  t.same(f, { endpoints: ['http://127.0.0.1:2379'], prefix: '/l4lb', node: 'lb-a', tls: null, auth: null, leaseTtlMs: 3000, pollIntervalMs: 10_000, staleAfterMs: 2000, stateFile: '/tmp/x' })
  const r = parseConfig(YAML.stringify({ ...LOCAL, ...(YAML.parse(SHARED) as object) }))
  t.same(r.ok ? [] : r.errors.map((e) => e.path), ['pools', 'timeouts'])
  t.match(r.ok ? '' : r.errors[0].message, /comes from the fleet store \(\/l4lb\/config\) when fleet is set/)
  const bad = parseConfig(YAML.stringify({ ...LOCAL, fleet: { endpoints: ['127.0.0.1:2379'], 'lease-ttl': '1500ms', prefix: 'x', 'stale-after': '10ms' } }))
  t.same(bad.ok ? [] : bad.errors.map((e) => e.path), ['fleet.endpoints[0]', 'fleet.lease-ttl', 'fleet.prefix', 'fleet.stale-after'], 'in document order')
  const none = parseConfig(YAML.stringify({ ...LOCAL, fleet: null }))
  t.same(none.ok ? [] : none.errors.map((e) => `${e.path}: ${e.message}`), ['pools: required key is missing'], 'fleet: null is a node alone: pools required')
})

t.test('compose: local part + store value = one validated config; fleet kept', async (t) => {
  const r = composeConfig(LOCAL, local(), SHARED, src)
  if (!r.ok) return t.fail(JSON.stringify(r.errors))
  t.same(r.config.pools.map((p) => p.name), ['web'])
  t.equal(r.config.timeouts.connectMs, 2000)
  t.equal(r.config.listeners[0].pool, 'web')
  t.equal(r.config.fleet?.node, 'lb-a')
})

t.test('compose refuses a bad store value, naming key and revision', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['not YAML', 'pools: [\n', /^fleet store \/l4lb\/config at revision 42: line \d+, column \d+$/],
    ['not a mapping', '- a\n', /^fleet store \/l4lb\/config at revision 42$/],
    ['a node-local key', `${SHARED}listeners: []\n`, /^fleet store \/l4lb\/config at revision 42: listeners$/],
    ['no pools', 'timeouts: {}\n', /^fleet store \/l4lb\/config at revision 42: pools$/],
    ['an unknown pool', SHARED.replace('name: web', 'name: other'), /^fleet store \/l4lb\/config at revision 42: listeners\[0\]\.pool$/],
    ['a schema error', SHARED.replace('port: 9001', 'port: 70000'), /^fleet store \/l4lb\/config at revision 42: pools\[0\]\.backends\[0\]\.port$/],
    ['over the size limit', `${SHARED}#${'x'.repeat(STORE_MAX_BYTES)}\n`, /^fleet store \/l4lb\/config at revision 42$/],
  ]
  for (const [what, text, path] of cases) {
    const r = composeConfig(LOCAL, local(), text, src)
    t.equal(r.ok, false, what)
    if (!r.ok) t.match(r.errors[0].path, path, `${what}: ${r.errors[0].path}: ${r.errors[0].message}`)
  }
})

t.test('a node-local key pasted into the shared part does not hide the shared part\'s own errors', async (t) => {
  const text = `${SHARED.replace('port: 9001', 'port: 99999')}listeners: []\nworkers: 2\n`
  const r = composeConfig(LOCAL, local(), text, src)
  t.same(r.ok ? [] : r.errors.map((e) => e.path), [
    'fleet store /l4lb/config at revision 42: listeners',
    'fleet store /l4lb/config at revision 42: workers',
    'fleet store /l4lb/config at revision 42: pools[0].backends[0].port',
  ], 'every error at once: the keys that are not shared, then the shared part\'s')
  const dir = mkdtempSync(join(tmpdir(), 'l4lb-shared-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'shared.yaml')
  writeFileSync(file, text)
  const push = await fleetCli(['push', '-c', file, '--endpoints', 'http://127.0.0.1:1'])
  t.equal(push.code, 1)
  t.match(push.stderr, /listeners: not a shared key/)
  t.match(push.stderr, /pools\[0\]\.backends\[0\]\.port/, 'push (no store reached) names the port too')
  t.match(push.stderr, /invalid, not pushed/)
})

t.test('health document: decode never throws; fencing by term, then seq', async (t) => {
  const doc = healthDoc('lb-a', 7, 3, 1000, [{ pool: 'web', id: 'b1', verdict: 'up', ejectedUntil: null, check: { result: { ok: true, durationMs: 1, detail: 'L4OK' }, at: 900 }, changedAt: 800, ejections: 0, slowstartSince: null, agent: null }])
  t.same(decodeHealthDoc(JSON.stringify(doc)), doc)
  for (const bad of ['', '{', 'null', '{"v":2}', JSON.stringify({ ...doc, term: 'x' }), JSON.stringify({ ...doc, backends: { 'web/b1': { verdict: 'maybe' } } })]) {
    t.ok(decodeHealthDoc(bad) instanceof Error, `refused: ${bad.slice(0, 30)}`)
  }
  t.equal(judge({ term: 7, seq: 3 }, { term: 6, seq: 99 }), 'stale-term', 'an older term is fenced off, whatever its seq')
  t.equal(judge({ term: 7, seq: 3 }, { term: 7, seq: 3 }), 'seen')
  t.equal(judge({ term: 7, seq: 3 }, { term: 7, seq: 4 }), 'new')
  t.equal(judge({ term: 7, seq: 3 }, { term: 8, seq: 1 }), 'new', 'a newer term starts its own sequence')
})

t.test('last-known-good: written atomically with key and revision, read back; a foreign file is ignored', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'l4lb-lkg-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'deep', 'state.yaml')
  t.equal(await readLastKnownGood(path), null, 'absent')
  await writeLastKnownGood(path, { key: '/l4lb/config', revision: 42, text: SHARED })
  t.same(await readLastKnownGood(path), { key: '/l4lb/config', revision: 42, text: SHARED })
  writeFileSync(path, 'pools: []\n')
  t.equal(await readLastKnownGood(path), null, 'not ours')
})

t.test('l4lb check on a node file: OK, and where the shared part comes from', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'l4lb-check-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'node.yaml')
  writeFileSync(file, YAML.stringify(LOCAL))
  const out: string[] = []
  const err: string[] = []
  t.equal(await checkCommand(['-c', file], { out: (l) => out.push(l), err: (l) => err.push(l) }), 0, err.join('\n'))
  t.match(out.join('\n'), /^fleet: node lb-a; pools and timeouts come from \/l4lb\/config on http:\/\/127\.0\.0\.1:2379/m)
})

t.test('fleet push --node-config: a file without fleet: and a listener pool missing from the shared file are named as such', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'l4lb-push-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const shared = join(dir, 'shared.yaml')
  writeFileSync(shared, SHARED)
  const plain = join(dir, 'plain.yaml')
  const { fleet: _f, ...noFleet } = LOCAL
  writeFileSync(plain, YAML.stringify({ ...noFleet, pools: YAML.parse(SHARED).pools }))
  let r = await fleetCli(['push', '-c', shared, '--node-config', plain])
  t.equal(r.code, 2, 'a usage error')
  t.match(r.stderr, `${plain}: has no fleet: section`)
  t.match(r.stderr, /--endpoints/)
  t.notMatch(r.stderr, /restart l4lb/, 'not the reload-path message')

  const node = join(dir, 'node.yaml')
  writeFileSync(node, YAML.stringify({ ...LOCAL, listeners: [{ name: 'main', bind: '127.0.0.1:0', pool: 'squid' }] }))
  r = await fleetCli(['push', '-c', shared, '--node-config', node])
  t.equal(r.code, 1)
  t.match(r.stderr, `${node}: listeners[0].pool: no pool named "squid" in ${shared}`, 'the listener is in the node file; the pools are in the shared file')
  t.notMatch(r.stderr, `${shared}: listeners`, 'the shared file has no listeners')
})

t.test('fleet.prefix docs give the election key etcd really holds', async (t) => {
  const real = `${Election.prefix}/${fleetKeys('/l4lb').election}/` // etcd3 adds election/ and /<lease>
  const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8')
  t.ok(doc.includes(`\`${real}...\``), `docs/configuration.md names ${real}<lease>`)
  t.notOk(doc.includes('`<prefix>/election`'), 'not <prefix>/election, which no node writes')
})
