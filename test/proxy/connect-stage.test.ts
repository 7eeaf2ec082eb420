// The connect half of a session, per engine (with the native engine's
// stage 2 the pump makes each connect attempt): a backend that wants a
// PROXY header reads it first, then the bytes the client sent before the
// connect finished, whichever attempt succeeds; a client that leaves while
// its backend is being connected ends `client-closed-early` with no connect
// failure counted and nothing left open. Then, native only: which pools the
// pump connects itself (IP literals) and which it takes over once connected.
import net from 'node:net'
import t from 'tap'
import { Engine } from '../../src/proxy/engine.ts'
import { loadNative } from '../../src/proxy/engine-choice.ts'
import { refusedPort } from '../fixtures/backend.ts'
import { startBlackhole } from '../hardening/blackhole.ts'
import { buildConfig } from '../helpers/config.ts'
import { forEachEngine, useEngine } from '../helpers/engines.ts'
import { captureLog, readAll } from '../helpers/lb.ts'
import { until } from '../helpers/until.ts'

type T = { teardown(fn: () => unknown): void }

/** A backend that records what it receives until the client's FIN, then answers "ok\n" and ends. */
async function recorder(t: T, host = '127.0.0.1'): Promise<{ port: number; got: Buffer[] }> {
  const got: Buffer[] = []
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    const parts: Buffer[] = []
    s.on('error', () => {})
    s.on('data', (d: Buffer) => parts.push(d))
    s.on('end', () => {
      got.push(Buffer.concat(parts))
      s.end('ok\n')
    })
  })
  await new Promise<void>((r) => server.listen(0, host, () => r()))
  t.teardown(() => new Promise((r) => server.close(() => r(undefined))))
  return { port: (server.address() as net.AddressInfo).port, got }
}

async function logged(t: T, cfg: ReturnType<typeof buildConfig>): Promise<{ lb: Engine; port: number; closed: () => Record<string, unknown>[] }> {
  const cap = captureLog()
  const lb = new Engine({ ...cfg, log: { ...cfg.log, connections: true } }, { log: cap.log })
  await lb.start()
  t.teardown(() => lb.shutdown(500))
  return { lb, port: lb.listener('test')!.address()!.port, closed: () => cap.lines.filter((l) => l.msg === 'connection closed') }
}

forEachEngine((t) => {
  for (const version of ['v1', 'v2'] as const) {
    t.test(`send-proxy ${version}: the header, then the bytes sent while connecting, on the attempt that succeeds`, async (t) => {
      const be = await recorder(t)
      const dead = await refusedPort()
      // Round robin from the refused port: the first attempt fails, the retry carries header and bytes.
      const { lb, port, closed } = await logged(t, buildConfig([{ name: 'dead', port: dead }, { name: 'rec', port: be.port }], { pool: { 'send-proxy': version, retries: 1 } }))
      const sock = net.connect({ port, host: '127.0.0.1', localAddress: '127.0.0.9', allowHalfOpen: true })
      let cport = 0
      sock.once('connect', () => (cport = sock.localPort!))
      sock.end('hello, early bytes\n') // written at once: held (or left in the kernel) while connecting
      const answer = await readAll(sock)
      t.equal(answer.toString(), 'ok\n', 'the client got the answer')
      await until('the backend got the whole upload', () => be.got.length === 1)
      const got = be.got[0]!
      const payload = Buffer.from('hello, early bytes\n')
      t.same(got.subarray(got.length - payload.length), payload, 'the client bytes come last, whole')
      const header = got.subarray(0, got.length - payload.length)
      if (version === 'v1') t.equal(header.toString('latin1'), `PROXY TCP4 127.0.0.9 127.0.0.1 ${cport} ${port}\r\n`, 'a v1 header naming the client')
      else {
        t.equal(header.subarray(0, 12).toString('hex'), '0d0a0d0a000d0a515549540a', 'a v2 signature')
        t.same([...header.subarray(16, 20)], [127, 0, 0, 9], 'naming the client')
        t.equal(header.readUInt16BE(24), cport, 'and its port')
      }
      await until('the connection log line', () => closed().length === 1)
      t.match(closed()[0], { reason: 'client-closed', tries: 2, backend: 'rec', bytesIn: payload.length, bytesOut: 3 })
      const stats = lb.stats().backends
      t.match(stats.find((b) => b.id === 'dead'), { connectFailures: 1, total: 0 })
      t.match(stats.find((b) => b.id === 'rec'), { connectFailures: 0, total: 1, bytesIn: payload.length, bytesOut: 3, active: 0 })
    })
  }

  t.test('PROXY end to end: the addresses a trusted client sends reach the backend in its own header, then the payload', async (t) => {
    const be = await recorder(t)
    const { port, closed } = await logged(t, buildConfig([{ name: 'rec', port: be.port }], {
      listener: { 'proxy-protocol': { accept: true, trusted: ['127.0.0.0/8'] } },
      pool: { 'send-proxy': 'v1' },
    }))
    const sock = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
    sock.end('PROXY TCP4 203.0.113.7 198.51.100.1 40000 443\r\npayload after the header\n') // one write: the payload comes in the header's read
    t.equal((await readAll(sock)).toString(), 'ok\n')
    await until('the backend got the upload', () => be.got.length === 1)
    t.equal(be.got[0]!.toString('latin1'), 'PROXY TCP4 203.0.113.7 198.51.100.1 40000 443\r\npayload after the header\n')
    await until('the connection log line', () => closed().length === 1)
    t.match(closed()[0], { client: '203.0.113.7:40000', reason: 'client-closed', bytesIn: 'payload after the header\n'.length })
  })

  t.test('a client that leaves while its backend connects: client-closed-early, no connect failure, nothing open', async (t) => {
    const hole = await startBlackhole()
    t.teardown(() => hole.close())
    const { lb, port, closed } = await logged(t, buildConfig([{ name: 'hole', port: hole.port }], { top: { timeouts: { connect: '5s' } } }))
    const sock = net.connect({ port, host: '127.0.0.1' })
    sock.on('error', () => {})
    await new Promise((r) => sock.once('connect', r))
    await until('the balancer holds the connection', () => lb.stats().listeners[0]!.active === 1)
    await new Promise((r) => setTimeout(r, 200)) // the backend connect is under way
    sock.resetAndDestroy()
    await until('the connection log line', () => closed().length === 1)
    t.match(closed()[0], { reason: 'client-closed-early', backend: 'hole', tries: 1 })
    await until('listener and backend load back to 0', () => lb.stats().listeners[0]!.active === 0 && lb.stats().backends.every((b) => b.active === 0))
    t.equal(lb.stats().backends.find((b) => b.id === 'hole')?.connectFailures ?? 0, 0, 'the abandoned connect is not a failure')
  })
})

t.test('native: the pump connects pools of IP literals (v4 and v6) itself; a pool naming a host is connected by JavaScript, then handed over', async (t) => {
  const n = loadNative()
  if (n.pump === null) return t.fail(`the native addon is not loaded: ${n.error}`)
  useEngine(t, 'native')
  const v4 = await recorder(t)
  const v6 = await recorder(t, '::1')
  for (const [host, stage2] of [['127.0.0.1', true], ['::1', true], ['localhost', false]] as const) {
    const be = host === '::1' ? v6 : v4
    const { port } = await logged(t, buildConfig([{ name: 'rec', port: be.port }], { backend: () => ({ host }) }))
    const before = { ...n.pump.counters }
    const sock = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
    sock.end('x')
    t.equal((await readAll(sock)).toString(), 'ok\n', `${host}: served`)
    t.equal(n.pump.counters.adopted - before.adopted, 1, `${host}: the pump carried it`)
    t.equal(n.pump.counters.connects - before.connects, stage2 ? 1 : 0, `${host}: ${stage2 ? 'the pump connected it' : 'JavaScript connected it'}`)
  }
})
