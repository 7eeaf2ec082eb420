// The shipped examples validate, defaults are filled exactly as documented,
// the result is deep-frozen, and IPv6 binds / workers: 0 normalise.
import t from 'tap'
import { join } from 'node:path'
import { checkCommand } from '../../src/cli/check.ts'
import { loadConfigFile, parseConfig } from '../../src/config/load.ts'
import type { Config } from '../../src/config/types.ts'
import type { Node } from '../../src/config/dsl.ts'
import { schema } from '../../src/config/schema.ts'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'

const root = join(import.meta.dirname, '..', '..')

for (const name of ['minimal.yaml', 'l4lb.yaml', 'agent/l4lb.yaml']) {
  t.test(`examples/${name} passes check`, async (t) => {
    const out: string[] = []
    const err: string[] = []
    const code = await checkCommand(['-c', join(root, 'examples', name)], { out: (l) => out.push(l), err: (l) => err.push(l) })
    t.equal(code, 0)
    t.same(err, [])
    t.equal(out.length, 2, 'a summary line, then the engine line')
    t.match(out[1], /^engine: (auto|js|native) -> (native|js)/)
    t.match(out[0], /: OK \(\d+ listeners?, \d+ pools?, \d+ backends?, \d+ workers?\)$/)
  })
}

t.test('minimal config: every default filled', async (t) => {
  const r = await loadConfigFile(join(root, 'examples', 'minimal.yaml'), { cpus: 3 })
  if (!r.ok) throw new Error(JSON.stringify(r.errors))
  const backend = (port: number) => ({
    id: `127.0.0.1:${port}`, host: '127.0.0.1', port, weight: 1, backup: false, maxconn: 0, sendProxy: 'none' as const, agent: null,
  })
  const expected: Config = {
    workers: 3,
    listeners: [{
      name: 'listener-0', bind: { host: '127.0.0.1', port: 8080 }, pool: 'proxies', maxconn: 0,
      proxyProtocol: { enabled: false, trusted: [], timeoutMs: 3000 },
    }],
    pools: [{
      name: 'proxies', policy: 'maglev', hashKey: 'src-ip', balanceFactor: 0, maglevTableSize: 65537,
      p2cLatency: false, retries: 2, slowstartMs: 0, sendProxy: 'none', retryBudget: null, maxQueue: 0, abortOnClose: false, observe: 'none', observe407: false, observeWindowMs: 30_000, weighBy: 'none',
      backends: [backend(9001), backend(9002)],
      health: {
        type: 'tcp', intervalMs: 2000, fastIntervalMs: 500, timeoutMs: 1000, fall: 3, rise: 2, jitter: 0.1,
        http: { method: 'GET', path: '/', host: null, expectStatus: [200, 399] }, connectTarget: null,
      },
      passive: { consecutive: 5, baseEjectionMs: 30_000, maxEjectionMs: 300_000, maxEjectionPercent: 50 },
    }],
    timeouts: { connectMs: 5000, idleMs: 300_000, halfClosedMs: 30_000, queueMs: 5000, connectLineMs: 5000 },
    admin: { enabled: true, bind: { host: '127.0.0.1', port: 9090 }, token: null },
    shutdown: { drainMs: 30_000, hardStopAfterMs: 60_000 },
    log: { level: 'info', connections: true },
    engine: 'auto',
    fleet: null,
  }
  // strictSame: no extra keys, same key sets everywhere.
  t.strictSame(r.config, expected)
})

t.test('the full example maps every kebab key onto Config', async (t) => {
  const r = await loadConfigFile(join(root, 'examples', 'l4lb.yaml'))
  if (!r.ok) throw new Error(JSON.stringify(r.errors))
  const [proxies, api] = r.config.pools
  t.equal(r.config.workers, 2)
  t.same(r.config.listeners[0].proxyProtocol, { enabled: false, trusted: ['127.0.0.0/8', '::1/128'], timeoutMs: 3000 })
  t.same(r.config.listeners[1].bind, { host: '::1', port: 8443 })
  t.equal(r.config.listeners[1].pool, 'api')
  t.equal(proxies.balanceFactor, 1.25)
  t.equal(proxies.slowstartMs, 10_000)
  t.same(proxies.backends.map((b) => [b.id, b.weight, b.backup, b.sendProxy]), [
    ['proxy-a', 1, false, 'none'], ['proxy-b', 2, false, 'none'], ['proxy-c', 1, false, 'v2'], ['proxy-spare', 1, true, 'none'],
  ])
  t.same(proxies.health.connectTarget, { host: 'example.internal', port: 443 })
  t.same(api.backends.map((b) => b.id), ['[::1]:9101', '[::1]:9102'])
  t.same(api.health.http, { method: 'GET', path: '/healthz', host: null, expectStatus: [200, 399] })
})

t.test('the result is deep-frozen', async (t) => {
  const r = await loadConfigFile(join(root, 'examples', 'l4lb.yaml'))
  if (!r.ok) throw new Error('example invalid')
  const c = r.config
  for (const o of [c, c.listeners, c.listeners[0], c.listeners[0].bind, c.listeners[0].proxyProtocol.trusted,
    c.pools[0].backends[0], c.pools[0].health.http.expectStatus, c.pools[0].health.connectTarget, c.admin, c.log]) {
    t.ok(Object.isFrozen(o))
  }
  t.throws(() => { (c.pools[0].backends[0] as { weight: number }).weight = 9 }, TypeError)
  t.throws(() => { (c.listeners as unknown as unknown[]).push(1) }, TypeError)
})

const base = (listeners: string, extra = ''): string =>
  `listeners:\n${listeners}\npools:\n  - name: p\n    backends: [{ host: "::1", port: 9001 }]\n${extra}`

t.test('IPv6 binds and hosts', async (t) => {
  const r = parseConfig(base('  - bind: "[::1]:8080"\n  - bind: "[::]:0"\n  - bind: "[::1::2]:1"', 'admin: { bind: "[::1]:9090" }\n'))
  if (r.ok) t.fail('a malformed IPv6 literal is rejected')
  else t.same(r.errors, [{ path: 'listeners[2].bind', message: '"[::1::2]:1" is not host:port' }])
  const ok = parseConfig(base('  - bind: "[::1]:8080"\n  - bind: "[::]:0"', 'admin: { bind: "[::1]:9090" }\n'))
  if (!ok.ok) throw new Error(JSON.stringify(ok.errors))
  t.same(ok.config.listeners.map((l) => l.bind), [{ host: '::1', port: 8080 }, { host: '::', port: 0 }])
  t.same(ok.config.admin.bind, { host: '::1', port: 9090 })
  t.equal(ok.config.pools[0].backends[0].id, '[::1]:9001')
})

t.test('workers: 0 becomes the CPU count; a null section takes its defaults', async (t) => {
  const r = parseConfig(base('  - bind: 127.0.0.1:0', 'workers: 0\nadmin:\ntimeouts: { idle: 0, connect: 250 }\n'), { cpus: 7 })
  if (!r.ok) throw new Error(JSON.stringify(r.errors))
  t.equal(r.config.workers, 7)
  t.equal(r.config.admin.bind.port, 9090)
  t.same(r.config.timeouts, { connectMs: 250, idleMs: 0, halfClosedMs: 30_000, queueMs: 5000, connectLineMs: 5000 })
  const auto = parseConfig(base('  - bind: 127.0.0.1:0'), { cpus: 3 })
  t.equal(auto.ok && auto.config.workers, 3, 'no workers key: the default 0, one per CPU')
  const single = parseConfig(base('  - bind: 127.0.0.1:0', 'workers: 0\n'), { cpus: 0 })
  t.equal(single.ok && single.config.workers, 1, 'never fewer than one worker')
})

t.test('admin off loopback is fine with a token, or when disabled', async (t) => {
  t.ok(parseConfig(base('  - bind: 127.0.0.1:0', 'admin: { bind: 0.0.0.0:9090, token: s3cret }\n')).ok)
  t.ok(parseConfig(base('  - bind: 127.0.0.1:0', 'admin: { enabled: false, bind: 0.0.0.0:9090 }\n')).ok)
  t.ok(parseConfig(base('  - bind: 127.0.0.1:0', 'admin: { bind: "localhost:9090" }\n')).ok)
})

t.test('file not found names the path', async (t) => {
  const r = await loadConfigFile('/nonexistent/l4lb.yaml')
  t.same(r, { ok: false, code: 'LB_ERR_CONFIG_READ', errors: [{ path: '/nonexistent/l4lb.yaml', message: 'file not found' }] })
})

t.test('examples/l4lb.yaml shows every key, as its header says', async (t) => {
  // "every key is shown": a key added to the schema without a line here leaves
  // the reader of the full example unaware of it. A null section (fleet) shows
  // the key only; a key counts when one item of a list has it.
  const doc = parse(readFileSync(join(root, 'examples', 'l4lb.yaml'), 'utf8')) as unknown
  const missing: string[] = []
  const walk = (node: Node<unknown>, values: unknown[], path: string): void => {
    const inner = node.kind === 'nullable' && node.inner ? node.inner : node
    if (inner.kind === 'list' && inner.item) return walk(inner.item, values.flatMap((v) => (Array.isArray(v) ? v : [])), `${path}[]`)
    if (inner.fields === undefined) return
    const maps = values.filter((v): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v))
    if (maps.length === 0) return
    for (const [key, f] of Object.entries(inner.fields)) {
      const here = maps.filter((m) => Object.hasOwn(m, key)).map((m) => m[key])
      if (here.length === 0) missing.push(`${path}${path ? '.' : ''}${key}`)
      else walk(f.node, here, `${path}${path ? '.' : ''}${key}`)
    }
  }
  walk(schema as Node<unknown>, [doc], '')
  t.same(missing, [], 'keys of the schema missing from examples/l4lb.yaml')
})
