// Timeouts end both sides with the right reason in the connection log, and
// PROXY protocol end to end: accepted from trusted sources, sent to backends.
import net from 'node:net'
import { forEachEngine } from '../helpers/engines.ts'
import { Engine } from '../../src/proxy/engine.ts'
import { encodeProxyV1 } from '../../src/net/proxy-protocol/encode.ts'
import { startBackend } from '../fixtures/backend.ts'
import { ending, seen } from '../helpers/endings.ts'
import { captureLog, connect, readAll } from '../helpers/lb.ts'
import { holdFor, until } from '../helpers/until.ts'
import { buildConfig, type ConfigOver, type Doc, layer, type Upstream } from '../helpers/config.ts'

/** The next chunk read, or "(ended)" when the peer ended or the socket closed first. */
const firstData = (sock: net.Socket) =>
  new Promise<string>((r) => {
    if (sock.destroyed || sock.readableEnded) return r('(ended)')
    sock.once('data', (d: Buffer) => r(d.toString()))
    sock.once('end', () => r('(ended)'))
    sock.once('close', () => r('(ended)'))
  })

async function withLog(t: Test, timeouts: Doc, backends: readonly Upstream[], over: ConfigOver = {}) {
  const cap = captureLog()
  const cfg = buildConfig(backends, layer({ top: { timeouts } }, over))
  const lb = new Engine({ ...cfg, log: { ...cfg.log, connections: true } }, { log: cap.log })
  await lb.start()
  t.teardown(() => lb.shutdown(200))
  return { lb, cap, port: lb.listener('test')!.address()!.port }
}
type Test = { teardown(fn: () => unknown): void }

const closed = (cap: ReturnType<typeof captureLog>) => cap.lines.filter((l) => l.msg === 'connection closed')

forEachEngine((t) => {
  t.test('idle timeout ends a silent connection', async (t) => {
    const be = await startBackend('quiet', 'silent')
    t.teardown(() => be.close())
    const { cap, port } = await withLog(t, { connect: '1s', idle: '300ms', 'half-closed': '5s' }, [be])
    const sock = await connect(port)
    const t0 = Date.now()
    await readAll(sock)
    t.ok(Date.now() - t0 >= 250, 'not before the idle timeout')
    await until('the connection-closed log line', () => closed(cap).length === 1)
    t.equal(closed(cap)[0].reason, 'idle-timeout')
    await until('the backend connection closed', () => be.ends[0]?.closed === true)
    t.equal(be.ends[0].error, 'ECONNRESET', 'the backend side was reset too (docs/errors.md, endings)')
  })

  t.test('half-closed timeout ends a lingering half-open connection', async (t) => {
    const be = await startBackend('quiet', 'silent')
    t.teardown(() => be.close())
    const { cap, port } = await withLog(t, { connect: '1s', idle: '10s', 'half-closed': '300ms' }, [be])
    const sock = await connect(port)
    await until('the backend holds the connection', () => be.sockets.size === 1)
    sock.end() // FIN; the silent backend never closes its side
    await readAll(sock)
    await until('the connection-closed log line', () => closed(cap).length === 1)
    t.equal(closed(cap)[0].reason, 'half-closed-timeout')
  })

  t.test('idle: 0 never ends a quiet connection', async (t) => {
    const be = await startBackend('q', 'name')
    t.teardown(() => be.close())
    const { lb, cap, port } = await withLog(t, { connect: '1s', idle: 0, 'half-closed': 0 }, [be])
    const sock = await connect(port)
    t.equal(await firstData(sock), 'q\n')
    await holdFor(600) // the subject: a dozen sweeps (50 ms each); 0 used to end it at the first
    t.equal(lb.activeSessions(), 1, 'still open after 600 ms of silence')
    sock.write('ping')
    t.equal(await firstData(sock), 'ping', 'and still carries bytes')
    t.equal(closed(cap).length, 0, 'no connection ended')
    sock.destroy()
  })

  t.test('half-closed: 0 sets no limit of its own; timeouts.idle still applies', async (t) => {
    const be = await startBackend('quiet', 'silent')
    t.teardown(() => be.close())
    const { cap, port } = await withLog(t, { connect: '1s', idle: '700ms', 'half-closed': 0 }, [be])
    const sock = await connect(port)
    await until('the backend holds the connection', () => be.sockets.size === 1)
    const t0 = Date.now()
    sock.end('request') // half-closed; the silent backend never answers
    await readAll(sock)
    t.ok(Date.now() - t0 >= 600, 'not ended before the idle timeout (700 ms, one 50 ms tick of slack below)')
    await until('the connection-closed log line', () => closed(cap).length === 1)
    t.equal(closed(cap)[0].reason, 'idle-timeout', 'ended by idle, not by a 0 ms half-closed timeout')
  })

  t.test('half-closed counts inactivity, not time since the FIN: a half-closed client gets the whole slow answer', async (t) => {
    const be = await startBackend('slow', 'trickle')
    be.trickleMs = 100
    be.trickleLines = 12 // 1.2 s of answer, a line every 100 ms: never 500 ms quiet
    t.teardown(() => be.close())
    const { cap, port } = await withLog(t, { connect: '1s', idle: '10s', 'half-closed': '500ms' }, [be])
    const sock = await connect(port)
    const end = ending(sock)
    sock.end('GET /stream\n') // the request is complete: the client shuts its write side
    const got = await end
    const lines = got.data.toString().split('\n').filter((l) => l !== '')
    t.equal(lines.length, 12, 'every line arrived (a timer armed at the FIN cut it after 500 ms)')
    t.equal(seen(got), 'eof', 'then the backend FIN, forwarded')
    await until('the connection-closed log line', () => closed(cap).length === 1)
    t.equal(closed(cap)[0].reason, 'client-closed', 'the client closed first and the server finished')
  })

  t.test('a connection log line carries bytes, backend and reason, never payload', async (t) => {
    const be = await startBackend('be', 'name')
    t.teardown(() => be.close())
    const { cap, port } = await withLog(t, {}, [be])
    const sock = await connect(port)
    sock.end('secret-payload-xyz')
    await readAll(sock)
    await until('the connection-closed log line', () => closed(cap).length === 1)
    const line = closed(cap)[0]
    t.match(line, { listener: 'test', pool: 'pool', backend: 'be', bytesIn: 18, reason: 'client-closed', flags: 'CD' })
    t.equal(line.bytesOut, 'be\n'.length + 18, 'the echo came back')
    t.notMatch(JSON.stringify(cap.lines), /secret-payload/, 'no payload bytes in logs')
  })

  t.test('server close is reported as such', async (t) => {
    const be = await startBackend('closer', 'close')
    t.teardown(() => be.close())
    const { cap, port } = await withLog(t, {}, [be])
    await readAll(await connect(port))
    await until('the connection-closed log line', () => closed(cap).length === 1)
    t.equal(closed(cap)[0].reason, 'server-closed')
  })

  t.test('server reset after connect is reported as such', async (t) => {
    const be = await startBackend('resetter', 'reset')
    t.teardown(() => be.close())
    const { cap, port } = await withLog(t, {}, [be], { pool: { retries: 0 } })
    await readAll(await connect(port))
    await until('the connection-closed log line', () => closed(cap).length === 1)
    t.equal(closed(cap)[0].reason, 'server-reset')
  })

  t.test('PROXY: accepted from a trusted source, forwarded as v2 with the real client', async (t) => {
    const be = await startBackend('pp', 'name')
    t.teardown(() => be.close())
    const cfg = buildConfig([be], { pool: { 'send-proxy': 'v2' } }).listeners[0]
    t.equal(cfg.proxyProtocol.enabled, false)
    const cap = captureLog()
    const base = buildConfig([be], { pool: { 'send-proxy': 'v2' } })
    const lb = new Engine(
      { ...base, listeners: [{ ...base.listeners[0], proxyProtocol: { enabled: true, trusted: ['127.0.0.0/8'], timeoutMs: 500 } }] },
      { log: cap.log },
    )
    await lb.start()
    t.teardown(() => lb.shutdown(200))
    const port = lb.listener('test')!.address()!.port
    const sock = await connect(port)
    sock.write(encodeProxyV1('198.18.7.7', 40000, '198.18.0.1', 80))
    sock.end('hello')
    const got = (await readAll(sock)).toString()
    // The fixture echoes everything, the v2 header it received included.
    t.ok(got.startsWith('pp\n') && got.endsWith('hello'), 'served, payload after the header intact')
    const first = be.firstBytes[0]
    t.equal(first.subarray(0, 12).toString('hex'), '0d0a0d0a000d0a515549540a', 'v2 signature sent to the backend')
    t.equal([...first.subarray(16, 20)].join('.'), '198.18.7.7', 'with the real client address')
    t.equal(first.readUInt16BE(24), 40000, 'and port')

    // A malformed header closes that connection, counted.
    const bad = await connect(port)
    bad.write('PROXY TCP4 1.2.3 nonsense\r\n')
    await readAll(bad)
    // A client that never sends a header is closed after the header timeout.
    const mute = await connect(port)
    await readAll(mute)
    await until('the listener counted two PROXY errors', () => lb.stats().listeners[0].proxyErrors === 2)
    t.equal(lb.stats().listeners[0].proxyErrors, 2, 'malformed and late headers counted')
    const codes = cap.lines.filter((l) => l.msg === 'PROXY header rejected').map((l) => l.code)
    t.same(codes.sort(), ['PROXY_BAD_HEADER', 'PROXY_TIMEOUT'], 'each logged with its own code: malformed (bad address) and timed out')
  })

  t.test('PROXY from an untrusted source is refused', async (t) => {
    const be = await startBackend('pp', 'name')
    t.teardown(() => be.close())
    const base = buildConfig([be])
    const lb = new Engine(
      { ...base, listeners: [{ ...base.listeners[0], proxyProtocol: { enabled: true, trusted: ['10.0.0.0/8'], timeoutMs: 500 } }] },
      { log: captureLog().log },
    )
    await lb.start()
    t.teardown(() => lb.shutdown(200))
    const sock = net.connect({ port: lb.listener('test')!.address()!.port, host: '127.0.0.1' })
    sock.write(encodeProxyV1('198.18.7.7', 40000, '198.18.0.1', 80))
    await readAll(sock)
    t.equal(be.accepted, 0, 'never reached a backend')
    t.equal(lb.stats().listeners[0].proxyErrors, 1)
  })
})
