// The test config builder: valid with no overrides, overrides land where they
// say (merged by key, lists replaced), and an invalid result names its error.
import t from 'tap'
import YAML from 'yaml'
import { buildConfig, configDoc, configYaml, layer, merge } from './config.ts'

const bes = [{ name: 'a', port: 9001 }, { name: 'b', port: 9002 }]

t.test('no overrides: one listener, one round-robin pool over the backends, checks and admin off', async (t) => {
  const c = buildConfig(bes)
  t.equal(c.workers, 1)
  t.same(c.listeners.map((l) => [l.name, l.bind.host, l.bind.port]), [['test', '127.0.0.1', 0]])
  t.same(c.pools.map((p) => [p.name, p.policy, p.retries, p.health.type]), [['pool', 'round-robin', 2, 'none']])
  t.same(c.pools[0].backends.map((b) => [b.id, b.host, b.port, b.weight]), [['a', '127.0.0.1', 9001, 1], ['b', '127.0.0.1', 9002, 1]])
  t.equal(c.admin.enabled, false)
})

t.test('overrides merge by key into their section', async (t) => {
  const c = buildConfig(bes, {
    listener: { maxconn: 3 },
    pool: { policy: 'maglev', 'send-proxy': 'v2' },
    backend: (b) => (b.name === 'b' ? { weight: 0, backup: true } : undefined),
    top: { timeouts: { idle: '300ms' }, shutdown: { 'hard-stop-after': '200ms' } },
  })
  t.equal(c.listeners[0].maxconn, 3)
  t.equal(c.listeners[0].name, 'test', 'the rest of the listener kept')
  t.equal(c.pools[0].policy, 'maglev')
  t.equal(c.pools[0].retries, 2, 'the rest of the pool kept')
  t.same(c.pools[0].backends.map((b) => [b.id, b.weight, b.backup]), [['a', 1, false], ['b', 0, true]])
  t.equal(c.timeouts.idleMs, 300)
  t.equal(c.shutdown.hardStopAfterMs, 200)
})

t.test('layers apply in order; lists are replaced, not merged', async (t) => {
  const over = layer({ pool: { retries: 0, health: { type: 'tcp', interval: '1s' } } }, { pool: { health: { interval: '2s' } } })
  t.same(over.pool, { retries: 0, health: { type: 'tcp', interval: '2s' } })
  t.same(merge({ a: [1, 2], b: { c: 1 } }, { a: [3], b: { d: 2 } }), { a: [3], b: { c: 1, d: 2 } })
  const base = { x: { y: 1 } }
  merge(base, { x: { y: 2 } })
  t.same(base, { x: { y: 1 } }, 'inputs unchanged')
  const doc = configDoc(bes, { extraListeners: [{ name: 'side', bind: '127.0.0.1:0', pool: 'extra' }], extraPools: [{ name: 'extra', backends: [{ id: 'c', host: '127.0.0.1', port: 9003 }] }] })
  t.same((doc.listeners as { name: string }[]).map((l) => l.name), ['test', 'side'])
  t.same((doc.pools as { name: string }[]).map((p) => p.name), ['pool', 'extra'])
})

t.test('the YAML is the document', async (t) => {
  t.same(YAML.parse(configYaml(bes, { pool: { policy: 'ring' } })), configDoc(bes, { pool: { policy: 'ring' } }))
})

t.test('an invalid result throws with the key path of the error', async (t) => {
  t.throws(() => buildConfig(bes, { pool: { policy: 'nope' } }), /pools\[0\]\.policy/)
})
