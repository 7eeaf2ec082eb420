// `hash-key: connect-authority` on real sockets, both engines: the balancer
// reads the client's CONNECT line before it picks, every tunnel to one target
// site leaves through one backend (a forward proxy) whatever the client,
// with Maglev, the ring and bounded load; the line's bytes reach the backend
// unchanged however they are split; a client that does not send a CONNECT
// line (another protocol, an oversized line) falls back to its address at
// once; a line never finished is reset at timeouts.connect-line.
import net from 'node:net'
import type { Test } from 'tap'
import { Engine } from '../../src/proxy/engine.ts'
import { type FixtureBackend, startBackend } from '../fixtures/backend.ts'
import { forEachEngine } from '../helpers/engines.ts'
import { buildConfig, type ConfigOver } from '../helpers/config.ts'
import { captureLog } from '../helpers/lb.ts'
import { holdFor, until } from '../helpers/until.ts'

async function setup(t: Test, over: ConfigOver, mode: FixtureBackend['mode'] = 'connect'): Promise<{ lb: Engine; port: number; bes: FixtureBackend[]; lines: Record<string, unknown>[] }> {
  const bes = await Promise.all(['p0', 'p1', 'p2'].map((n) => startBackend(n, mode)))
  t.teardown(() => Promise.all(bes.map((b) => b.close())))
  const cap = captureLog()
  const cfg = buildConfig(bes, { ...over, pool: { policy: 'maglev', 'hash-key': 'connect-authority', ...over.pool } })
  const lb = new Engine({ ...cfg, log: { ...cfg.log, connections: true } }, { log: cap.log })
  await lb.start()
  t.teardown(() => lb.shutdown(200))
  return { lb, port: lb.listener('test')!.address()!.port, bes, lines: cap.lines }
}

/**
 * Send `request` (in `pieces` writes, `gapMs` apart) from `localAddress`,
 * then `payload`; resolve with everything received until `expect` bytes
 * arrived (or the peer closed), and the socket.
 */
async function converse(port: number, request: string, opts: { localAddress?: string; pieces?: number; gapMs?: number; until: (got: string) => boolean }): Promise<string> {
  const sock = net.connect({ port, host: '127.0.0.1', localAddress: opts.localAddress ?? '127.0.0.1' })
  let got = ''
  let closed = false
  sock.setEncoding('latin1')
  sock.on('data', (d: string) => (got += d))
  sock.on('error', () => {})
  sock.on('close', () => (closed = true))
  try {
    await new Promise((resolve) => sock.once('connect', resolve))
    const pieces = opts.pieces ?? 1
    const size = Math.ceil(request.length / pieces)
    for (let i = 0; i < request.length; i += size) {
      sock.write(request.slice(i, i + size))
      if (opts.gapMs !== undefined) await holdFor(opts.gapMs)
    }
    await until('the answer', () => opts.until(got) || closed, { deadlineMs: 5000 })
    return got
  } finally {
    sock.destroy()
  }
}

const SITES = Array.from({ length: 20 }, (_, i) => (i % 4 === 0 ? `10.9.${i}.1:443` : `site${i}.example:${i % 2 === 0 ? 443 : 8443}`))
const connectReq = (site: string): string => `CONNECT ${site} HTTP/1.1\r\nHost: ${site}\r\n\r\n`
/** Which proxy carried the tunnel: the fixture answers 200, then its name. */
const proxyOf = (got: string): string => /^HTTP\/1\.1 200 [^\r]*\r\n\r\n(p\d)\n/.exec(got)?.[1] ?? `none: ${JSON.stringify(got.slice(0, 80))}`
const tunnelled = (got: string): boolean => /\r\n\r\np\d\n/.test(got)

forEachEngine((t) => {
  for (const [label, pool] of [['maglev', { policy: 'maglev' }], ['ring', { policy: 'ring' }], ['maglev with bounded load', { policy: 'maglev', 'balance-factor': 1.5 }]] as const) {
    t.test(`${label}: 20 target sites from 4 client addresses through 3 proxies: each site always leaves through one proxy`, async (t) => {
      const { lb, port, bes, lines } = await setup(t, { pool })
      const bySite = new Map<string, Set<string>>()
      for (const site of SITES) {
        const seen = new Set<string>()
        for (let c = 1; c <= 4; c++) {
          seen.add(proxyOf(await converse(port, connectReq(site), { localAddress: `127.0.0.${c}`, until: tunnelled })))
          // Bounded load moves a key off a backend above its share: let the last tunnel end first,
          // as the balancer counts it (the native pump reports a close after the backend saw it).
          await until('the tunnel to end', () => bes.every((b) => b.sockets.size === 0) && lb.stats().backends.every((b) => b.active === 0))
        }
        bySite.set(site, seen)
      }
      const split = [...bySite].filter(([, s]) => s.size !== 1 || ![...s][0]!.startsWith('p'))
      t.same(split, [], 'every site through exactly one proxy, whichever client asked')
      const used = new Set([...bySite.values()].map((s) => [...s][0]))
      t.equal(used.size, 3, `the sites spread over all three proxies (${[...used].join(', ')})`)
      await until('a connection line per tunnel', () => lines.filter((l) => l.msg === 'connection closed').length === SITES.length * 4)
      const logged = new Map<string, Set<unknown>>()
      for (const l of lines.filter((l) => l.msg === 'connection closed')) logged.set(String(l.authority), (logged.get(String(l.authority)) ?? new Set()).add(l.backend))
      t.same([...logged.keys()].sort(), [...SITES].sort(), 'each line names the authority it was hashed on')
      t.ok([...logged.values()].every((b) => b.size === 1), 'and the log alone shows each site on one proxy')
    })
  }

  t.test('a CONNECT line split across many packets goes where the whole line goes, its bytes unchanged', async (t) => {
    // `name` backends: they write their name, then echo every byte they get.
    const { port } = await setup(t, {}, 'name')
    const req = connectReq('split.example:443')
    const whole = await converse(port, req, { until: (g) => g.length >= 3 + req.length })
    t.match(whole, /^p\d\n/, `the whole line went to ${whole.slice(0, 2)}`)
    const got = await converse(port, req, { localAddress: '127.0.0.7', pieces: req.length, gapMs: 3, until: (g) => g.length >= 3 + req.length })
    t.equal(got.slice(0, 3), whole.slice(0, 3), 'byte by byte, from another client: the same proxy')
    t.equal(got.slice(3), req, 'the proxy received the request exactly as sent (its echo)')
  })

  t.test('an oversized CONNECT line falls back to the client address; every byte is forwarded', async (t) => {
    const { port, lines } = await setup(t, { top: { timeouts: { 'connect-line': '10s' } } }, 'echo')
    const long = `CONNECT ${'a'.repeat(5000)}.example:443 HTTP/1.1\r\n`
    const started = Date.now()
    const got = await converse(port, long, { until: (g) => g.length >= long.length })
    t.equal(got, long, 'the backend echoed all the bytes, unchanged')
    t.ok(Date.now() - started < 5000, 'not held until timeouts.connect-line')
    t.notOk(lines.some((l) => l.reason === 'connect-line-timeout'), 'no session ended connect-line-timeout')
  })

  t.test('a client that is not CONNECT is hashed on its address, at once', async (t) => {
    const { port, lines } = await setup(t, { top: { timeouts: { 'connect-line': '10s' } } }, 'name')
    const started = Date.now()
    const seen = new Set<string>()
    for (const path of ['/a', '/b', '/c', '/d', '/e']) {
      const got = await converse(port, `GET ${path} HTTP/1.1\r\n\r\n`, { until: (g) => g.includes(path) })
      t.match(got, new RegExp(`^p\\d\\nGET ${path} HTTP/1.1\\r\\n\\r\\n$`), 'the backend got the request unchanged (echoed after its name)')
      seen.add(got.slice(0, 2))
    }
    t.equal(seen.size, 1, 'one client address: one backend')
    await until('their connection lines', () => lines.filter((l) => l.msg === 'connection closed').length === 5)
    t.ok(lines.filter((l) => l.msg === 'connection closed').every((l) => l.authority === null), 'logged with authority null: hashed on the client address')
    t.ok(Date.now() - started < 5000, 'not held until timeouts.connect-line')
  })

  t.test('a CONNECT line never finished is reset at timeouts.connect-line; no backend is reached', async (t) => {
    const { port, bes, lines } = await setup(t, { top: { timeouts: { 'connect-line': '300ms' } } })
    const sock = net.connect({ port, host: '127.0.0.1' })
    t.teardown(() => sock.destroy())
    let error = ''
    let closed = false
    sock.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message))
    sock.on('close', () => (closed = true))
    await new Promise((resolve) => sock.once('connect', resolve))
    const started = Date.now()
    sock.write('CONNECT slow.example:443 HTT')
    await until('the balancer to close the client', () => closed, { deadlineMs: 5000 })
    const waited = Date.now() - started
    t.ok(waited >= 250 && waited < 3000, `closed after ${waited} ms (timeout 300 ms)`)
    t.equal(error, 'ECONNRESET', 'the client sees a reset')
    t.same(bes.map((b) => b.accepted), [0, 0, 0], 'no backend was connected')
    await until('the connection line', () => lines.some((l) => l.msg === 'connection closed'))
    t.equal(lines.find((l) => l.msg === 'connection closed')!.reason, 'connect-line-timeout')
  })
})
