// One address, one text: canonicalHost folds every spelling of an address
// (IPv4-mapped IPv6, IPv6 zero forms and case, zone ids kept, names in any
// case) before the config compares binds and backends; formatHostPort prints
// "[v6]:port" everywhere, including the connection log's client on real sockets.
import net from 'node:net'
import t from 'tap'
import { parseConfig } from '../../src/config/load.ts'
import { canonicalHost, formatHostPort, isLoopback } from '../../src/net/ip.ts'
import { Engine } from '../../src/proxy/engine.ts'
import { encodeProxyV2 } from '../../src/net/proxy-protocol/encode.ts'
import { startBackend } from '../fixtures/backend.ts'
import { captureLog, connect, readAll } from '../helpers/lb.ts'
import { until } from '../helpers/until.ts'

t.test('canonicalHost: one text per address', async (t) => {
  const same: [string, string][] = [
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::FFFF:7F00:1', '127.0.0.1'],
    ['0:0:0:0:0:ffff:7f00:1', '127.0.0.1'],
    ['::1', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['::0001', '::1'],
    ['0000:0000:0000:0000:0000:0000:0000:0001', '::1'],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:0db8:0:0:0:0:0:0001', '2001:db8::1'],
    ['::', '::'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['::ffff:0.0.0.0', '0.0.0.0'],
    ['fe80::1%eth0', 'fe80::1%eth0'],
    ['FE80:0:0:0:0:0:0:1%eth0', 'fe80::1%eth0'],
    ['Proxy-A.Example', 'proxy-a.example'],
    ['proxy-a.example.', 'proxy-a.example'],
    ['localhost', 'localhost'],
  ]
  for (const [raw, want] of same) t.equal(canonicalHost(raw), want, raw)
  t.not(canonicalHost('fe80::1%eth0'), canonicalHost('fe80::1%ETH0'), 'interface names are case-sensitive')
  t.not(canonicalHost('localhost'), canonicalHost('127.0.0.1'), 'names are not resolved')
})

t.test('formatHostPort brackets IPv6 only; isLoopback sees every spelling', async (t) => {
  t.equal(formatHostPort('127.0.0.1', 80), '127.0.0.1:80')
  t.equal(formatHostPort('::1', 80), '[::1]:80')
  t.equal(formatHostPort('::ffff:127.0.0.1', 80), '[::ffff:127.0.0.1]:80')
  t.equal(formatHostPort('proxy.example', 3128), 'proxy.example:3128')
  for (const h of ['0:0:0:0:0:0:0:1', '::0001', '::ffff:127.0.0.1', '::FFFF:7F00:1', 'LocalHost']) t.ok(isLoopback(h), h)
  for (const h of ['::ffff:10.0.0.1', '::', '0:0:0:0:0:0:0:0', '::2']) t.notOk(isLoopback(h), h)
})

const yaml = (listeners: string, backends: string, admin = '{ enabled: false }') => `
listeners:
${listeners}
pools:
  - name: p
    backends:
${backends}
admin: ${admin}
`

t.test('default backend ids use the canonical address, so spellings agree across nodes', async (t) => {
  const r = parseConfig(yaml('  - { bind: 127.0.0.1:0 }', `      - { host: "0:0:0:0:0:0:0:1", port: 9001 }
      - { host: "::ffff:127.0.0.1", port: 9001 }
      - { host: Proxy.Example, port: 3128 }
      - { host: "2001:DB8::A", port: 3128 }`))
  t.ok(r.ok)
  if (!r.ok) return
  t.same(r.config.pools[0].backends.map((b) => b.id), ['[::1]:9001', '127.0.0.1:9001', 'proxy.example:3128', '[2001:db8::a]:3128'])
  t.same(r.config.pools[0].backends.map((b) => b.host), ['0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'Proxy.Example', '2001:DB8::A'], 'hosts kept as written')
})

t.test('an admin bind on loopback in any spelling needs no token', async (t) => {
  for (const bind of ['"[0:0:0:0:0:0:0:1]:9090"', '"[::ffff:127.0.0.1]:9090"']) {
    const r = parseConfig(yaml('  - { bind: 127.0.0.1:0 }', '      - { host: 127.0.0.1, port: 9001 }', `{ enabled: true, bind: ${bind} }`))
    t.ok(r.ok, `${bind}: accepted ${r.ok ? '' : JSON.stringify(r.errors)}`)
  }
})

t.test('binds that cannot both work are rejected, naming both key paths', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['127.0.0.1:8080', '"[::ffff:127.0.0.1]:8080"', /listeners\[1\]\.bind: \[::ffff:127\.0\.0\.1\]:8080 is the same address as listeners\[0\]\.bind \(127\.0\.0\.1:8080\)/],
    ['"[::1]:8080"', '"[0:0:0:0:0:0:0:1]:8080"', /listeners\[1\]\.bind: .* is the same address as listeners\[0\]\.bind/],
    ['0.0.0.0:8080', '127.0.0.1:8080', /listeners\[1\]\.bind: 127\.0\.0\.1:8080 overlaps listeners\[0\]\.bind \(0\.0\.0\.0:8080\)/],
    ['"[::]:8080"', '0.0.0.0:8080', /listeners\[1\]\.bind: 0\.0\.0\.0:8080 overlaps listeners\[0\]\.bind \(\[::\]:8080\): :: is every address, IPv4 included/],
    ['"[::]:8080"', '"[::1]:8080"', /overlaps listeners\[0\]\.bind/],
  ]
  for (const [a, b, want] of cases) {
    const r = parseConfig(yaml(`  - { bind: ${a} }\n  - { bind: ${b} }`, '      - { host: 127.0.0.1, port: 9001 }'))
    t.notOk(r.ok, `${a} + ${b} rejected`)
    if (!r.ok) t.match(r.errors.map((e) => `${e.path}: ${e.message}`).join('\n'), want)
  }
  for (const [a, b] of [['0.0.0.0:8080', '"[::1]:8080"'], ['127.0.0.1:8080', '127.0.0.1:8081'], ['127.0.0.1:0', '"[::ffff:127.0.0.1]:0"']]) {
    const r = parseConfig(yaml(`  - { bind: ${a} }\n  - { bind: ${b} }`, '      - { host: 127.0.0.1, port: 9001 }'))
    t.ok(r.ok, `${a} + ${b}: both work (different families, ports, or ephemeral)`)
  }
})

t.test('the connection log prints IPv6 clients as [addr]:port (real sockets)', async (t) => {
  const be = await startBackend('a')
  t.teardown(() => be.close())
  const r = parseConfig(`
workers: 1
listeners:
  - { name: six, bind: "[::1]:0" }
  - { name: pp, bind: 127.0.0.1:0, proxy-protocol: { accept: true, trusted: [127.0.0.1] } }
pools:
  - name: p
    backends: [ { id: a, host: 127.0.0.1, port: ${be.port} } ]
    health: { type: none }
admin: { enabled: false }
log: { level: info, connections: true }
`)
  if (!r.ok) throw new Error(JSON.stringify(r.errors))
  const cap = captureLog()
  const lb = new Engine(r.config, { log: cap.log })
  await lb.start()
  t.teardown(() => lb.shutdown(200))
  const closed = () => cap.lines.filter((l) => l.msg === 'connection closed')

  const six = net.connect({ host: '::1', port: lb.listener('six')!.address()!.port, localAddress: '::1' })
  const sixPort = await new Promise<number>((resolve) => six.once('connect', () => resolve(six.localPort!)))
  const named = readAll(six)
  six.end()
  t.match((await named).toString(), /^a\n/, 'served over IPv6')
  await until('the connection-closed log line', () => closed().length === 1)
  t.equal(closed()[0].client, `[::1]:${sixPort}`, 'IPv6 client bracketed, like backend ids')

  const pp = await connect(lb.listener('pp')!.address()!.port)
  const answer = readAll(pp)
  pp.end(encodeProxyV2('2001:db8::42', 1234, '2001:db8::1', 443))
  await answer
  await until('2 connection-closed log lines', () => closed().length === 2)
  t.equal(closed()[1].client, '[2001:db8::42]:1234', 'an IPv6 source from a PROXY header too')

  const v4 = await connect(lb.listener('pp')!.address()!.port)
  const bad = readAll(v4)
  v4.end('garbage\r\n')
  await bad
  await until('the PROXY-header-rejected log line', () => cap.lines.some((l) => l.msg === 'PROXY header rejected'))
  t.match(cap.lines.find((l) => l.msg === 'PROXY header rejected'), { client: /^127\.0\.0\.1:\d+$/ }, 'IPv4 stays bare')
})
