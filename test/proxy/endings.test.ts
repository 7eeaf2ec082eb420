// The endings table of docs/errors.md, one test per row, on real sockets: what
// the client and the backend each see when a session ends, a clean end of
// stream (FIN, read as EOF) or a reset (ECONNRESET). Rule: a peer gets a FIN
// only when the other peer sent one; anything the balancer decides, and any
// reset, reaches the peers as a reset, so a cut never looks complete.
import net from 'node:net'
import { forEachEngine } from '../helpers/engines.ts'
import { Engine } from '../../src/proxy/engine.ts'
import { encodeProxyV1 } from '../../src/net/proxy-protocol/encode.ts'
import { type FixtureBackend, refusedPort, startBackend } from '../fixtures/backend.ts'
import { ending, seen } from '../helpers/endings.ts'
import { captureLog, connect } from '../helpers/lb.ts'
import { logged } from '../hardening/helpers.ts'
import { until } from '../helpers/until.ts'
import { buildConfig } from '../helpers/config.ts'

type T = { teardown(fn: () => unknown): void }

async function backend(t: T, name: string, mode: FixtureBackend['mode']): Promise<FixtureBackend> {
  const be = await startBackend(name, mode)
  t.teardown(() => be.close())
  return be
}

/** The backend's record of its first connection, once that connection has closed. */
async function backendEnd(be: FixtureBackend): Promise<string> {
  await until('the backend connection closed', () => be.ends[0]?.closed === true)
  return be.ends[0] === undefined ? 'never connected' : seen(be.ends[0])
}

forEachEngine((t) => {
  t.test('normal close, client first: FIN forwarded both ways, the answer complete', async (t) => {
    const be = await backend(t, 'n', 'name')
    const { port, closed } = await logged(t, [be])
    const sock = await connect(port)
    const end = ending(sock)
    sock.end('hi')
    const got = await end
    t.equal(seen(got), 'eof', 'client: EOF')
    t.equal(got.data.toString(), 'n\nhi')
    t.equal(await backendEnd(be), 'eof', 'backend: the FIN, no reset')
    await until('the connection-closed log line', () => closed().length === 1)
    t.match(closed()[0], { reason: 'client-closed' })
  })

  t.test('normal close, server first: the client gets EOF', async (t) => {
    const be = await backend(t, 'c', 'close')
    const { port, closed } = await logged(t, [be])
    const got = await ending(await connect(port))
    t.equal(seen(got), 'eof', 'client: EOF')
    t.equal(await backendEnd(be), 'eof', 'backend: the client answered with its FIN')
    await until('the connection-closed log line', () => closed().length === 1)
    t.match(closed()[0], { reason: 'server-closed' })
  })

  t.test('backend resets mid-response: the client sees a reset after the bytes sent before it', async (t) => {
    const be = await backend(t, 'r', 'reset')
    const { port, closed } = await logged(t, [be], { pool: { retries: 0 } })
    const got = await ending(await connect(port))
    t.equal(seen(got), 'reset', 'client: ECONNRESET, not EOF')
    t.equal(got.data.toString(), 'r\n', 'the bytes before the reset arrived')
    await until('the connection-closed log line', () => closed().length === 1)
    t.match(closed()[0], { reason: 'server-reset', flags: 'sR' })
  })

  t.test('client resets mid-stream: the backend sees a reset, not a FIN', async (t) => {
    const be = await backend(t, 's', 'silent')
    const { port, closed } = await logged(t, [be])
    const sock = await connect(port)
    sock.on('error', () => {})
    sock.write('part of a request')
    await until('the backend received the first probe', () => be.firstBytes.length === 1)
    sock.resetAndDestroy()
    t.equal(await backendEnd(be), 'reset', 'backend: ECONNRESET')
    t.equal(be.ends[0].fin, false, 'and never a FIN')
    await until('the connection-closed log line', () => closed().length === 1)
    t.match(closed()[0], { reason: 'client-reset', flags: 'cR' })
  })

  t.test('idle timeout: both peers see a reset', async (t) => {
    const be = await backend(t, 'st', 'stall')
    const { port, closed } = await logged(t, [be], { top: { timeouts: { idle: '300ms' } } })
    const sock = await connect(port)
    sock.write('hello?')
    const got = await ending(sock)
    t.equal(seen(got), 'reset', 'client: ECONNRESET')
    t.equal(await backendEnd(be), 'reset', 'backend: ECONNRESET')
    await until('the connection-closed log line', () => closed().length === 1)
    t.match(closed()[0], { reason: 'idle-timeout', flags: 'cT' })
  })

  t.test('half-closed timeout after the client FIN: the unfinished answer ends in a reset', async (t) => {
    const be = await backend(t, 'si', 'silent')
    const { port, closed } = await logged(t, [be], { top: { timeouts: { 'half-closed': '300ms' } } })
    const sock = await connect(port)
    const end = ending(sock)
    sock.end('request')
    const got = await end
    t.equal(seen(got), 'reset', 'client: ECONNRESET, not a clean EOF that would pass for a whole answer')
    // The backend read the FIN and stopped reading, so it meets the reset on its next write.
    t.equal(be.ends[0].fin, true, 'backend: got the client FIN (the client did send it)')
    // It keeps writing until it does: one write can still land before the balancer's reset of the
    // backend side arrives (the native engine ends both sides microseconds apart, and this process
    // may run between them), and a socket that no longer reads notices a reset only on a write.
    const late = [...be.sockets][0]
    await until('the backend connection closed', () => {
      if (late !== undefined && !late.destroyed) late.write('late answer')
      return be.ends[0].closed
    }, { deadlineMs: 5000, intervalMs: 50 })
    t.ok(be.ends[0].error === 'ECONNRESET' || be.ends[0].error === 'EPIPE', `backend: its next write fails (${be.ends[0].error})`)
    await until('the connection-closed log line', () => closed().length === 1)
    t.match(closed()[0], { reason: 'half-closed-timeout', flags: 'hT' })
  })

  t.test('half-closed timeout after the server FIN: the backend sees its unfinished upload reset', async (t) => {
    const be = await backend(t, 'cl', 'close')
    const { port, closed } = await logged(t, [be], { top: { timeouts: { 'half-closed': '300ms' } } })
    const sock = await connect(port)
    let fin = false
    sock.on('end', () => (fin = true)) // the client lingers half-open, silent
    sock.on('error', () => {})
    t.equal(await backendEnd(be), 'reset', 'backend: ECONNRESET instead of a FIN the client never sent')
    t.equal(fin, true, 'client: the server FIN was forwarded')
    sock.destroy()
    await until('the connection-closed log line', () => closed().length === 1)
    t.match(closed()[0], { reason: 'half-closed-timeout' })
  })

  t.test('hard-stop-after on reload: both peers on a removed backend see a reset', async (t) => {
    const be = await backend(t, 'gone', 'silent')
    const stays = await backend(t, 'stays', 'silent')
    const cap = captureLog()
    const base = buildConfig([be], { top: { shutdown: { 'hard-stop-after': '200ms' } } })
    const log = { ...base.log, connections: true }
    const lb = new Engine({ ...base, log }, { log: cap.log })
    await lb.start()
    t.teardown(() => lb.shutdown(200))
    const sock = await connect(lb.listener('test')!.address()!.port)
    await until('be accepts the connection', () => be.accepted === 1)
    const end = ending(sock)
    const t0 = Date.now()
    await lb.applyConfig({ ...buildConfig([stays], { top: { shutdown: { 'hard-stop-after': '200ms' } } }), log })
    t.equal(seen(await end), 'reset', 'client: ECONNRESET')
    const took = Date.now() - t0
    t.ok(took >= 190 && took < 1200, `reset at hard-stop-after, not before: ${took} ms (200 ms, slack for load)`)
    t.equal(await backendEnd(be), 'reset', 'backend: ECONNRESET')
    const line = await until('the hard-stop log line', () => cap.lines.find((l) => l.reason === 'hard-stop'))
    t.match(line, { flags: 'KS' }, 'logged with flags KS')
  })

  t.test('shutdown deadline: connections still open at the drain deadline are reset', async (t) => {
    const be = await backend(t, 'd', 'silent')
    const { lb, port, closed } = await logged(t, [be])
    const sock = await connect(port)
    await until('be accepts the connection', () => be.accepted === 1)
    const end = ending(sock)
    const t0 = Date.now()
    await lb.shutdown(200)
    t.equal(seen(await end), 'reset', 'client: ECONNRESET')
    const took = Date.now() - t0
    t.ok(took >= 190 && took < 1200, `reset at the 200 ms drain deadline, not before: ${took} ms`)
    t.equal(await backendEnd(be), 'reset', 'backend: ECONNRESET')
    await until('the connection-closed log line', () => closed().length === 1)
    t.match(closed()[0], { reason: 'hard-stop' })
  })

  t.test('connect failure after early client bytes were held: the client sees a reset', async (t) => {
    const gone = { name: 'gone', port: await refusedPort() }
    const { port, closed } = await logged(t, [gone], { pool: { retries: 0 } })
    // Not waiting for the connect: with native accept the reset may land before the client saw its connect complete.
    const sock = net.connect({ port, host: '127.0.0.1' })
    const end = ending(sock)
    sock.write('early bytes that never reached a backend')
    t.equal(seen(await end), 'reset', 'client: ECONNRESET, not an empty clean answer')
    await until('the connection-closed log line', () => closed().length === 1)
    t.match(closed()[0], { reason: 'connect-failed', flags: 'sC' })
  })

  t.test('no backend can take the flow: the client sees a reset', async (t) => {
    const be = await backend(t, 'w0', 'name')
    const cap = captureLog()
    const lb = new Engine(buildConfig([be], { backend: () => ({ weight: 0 }) }), { log: cap.log })
    await lb.start()
    t.teardown(() => lb.shutdown(200))
    // Reset so soon that it may land before the client saw its connect complete.
    const got = await ending(net.connect({ port: lb.listener('test')!.address()!.port, host: '127.0.0.1' }))
    t.equal(seen(got), 'reset', 'client: ECONNRESET')
    t.equal(be.accepted, 0)
    await until('the no-backend log line', () => cap.lines.some((l) => l.reason === 'no-backend'))
    t.ok(cap.lines.some((l) => l.reason === 'no-backend' && l.flags === 'NB'))
  })

  t.test('PROXY header rejected (malformed, untrusted, late): the client sees a reset', async (t) => {
    const be = await backend(t, 'pp', 'name')
    for (const [what, trusted, send] of [
      ['malformed', '127.0.0.0/8', 'PROXY TCP4 1.2.3 nonsense\r\n'],
      ['untrusted', '10.0.0.0/8', encodeProxyV1('198.18.7.7', 40000, '198.18.0.1', 80)],
      ['late', '127.0.0.0/8', 'PROXY TCP4'],
    ] as const) {
      const { port } = await logged(t, [be], { listener: { 'proxy-protocol': { accept: true, trusted: [trusted], timeout: '200ms' } } })
      const sock = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }) // an untrusted peer may be reset before its connect completes
      const end = ending(sock)
      sock.write(send)
      t.equal(seen(await end), 'reset', `${what}: client ECONNRESET`)
    }
    t.equal(be.accepted, 0, 'no backend was dialled')
  })

  t.test('maxconn refusal: a client past the listener maxconn sees a reset', async (t) => {
    const be = await backend(t, 'm', 'name')
    const { lb, port } = await logged(t, [be], { listener: { maxconn: 1 } })
    const first = await connect(port)
    first.on('error', () => {})
    await until('be accepts the connection', () => be.accepted === 1)
    const second = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
    const got = await ending(second)
    t.equal(seen(got), 'reset', 'refused client: ECONNRESET, not an empty clean answer')
    t.equal(lb.stats().listeners[0].rejected, 1, 'counted as rejected')
    first.destroy()
  })
})
