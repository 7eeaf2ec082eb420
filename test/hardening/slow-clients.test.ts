// Slow clients are bounded: a slowloris trickling a PROXY header one byte per
// 100 ms is closed at the header timeout (PROXY_TIMEOUT, counted); a client
// that never reads from a fast backend stalls the backend at bounded buffers
// and is closed at the idle timeout.
import net from 'node:net'
import { encodeProxyV1 } from '../../src/net/proxy-protocol/encode.ts'
import { startBackend } from '../fixtures/backend.ts'
import { connect } from '../helpers/lb.ts'
import { logged } from './helpers.ts'
import { holdFor, until } from '../helpers/until.ts'
import { forEachEngine } from '../helpers/engines.ts'

forEachEngine((t) => {
  t.test('slowloris on a PROXY listener: closed at the header timeout with PROXY_TIMEOUT', async (t) => {
    const be = await startBackend('a')
    t.teardown(() => be.close())
    const { lb, cap, port } = await logged(t, [be], { listener: { 'proxy-protocol': { accept: true, trusted: ['127.0.0.0/8'], timeout: '500ms' } } })
    const header = encodeProxyV1('203.0.113.7', 40000, '127.0.0.1', port)
    const socks = await Promise.all([0, 1, 2].map(() => connect(port)))
    let sent = 0
    let closedAfter = -1
    const closed = Promise.all(socks.map((s) => new Promise<void>((r) => {
      s.on('error', () => {})
      s.on('end', () => s.destroy()) // half-open allowed by connect(): finish our side
      s.on('close', () => r())
    })))
    // One byte per 100 ms: the whole header would take seconds; bounded by its length.
    for (let i = 0; i < header.length; i++) {
      if (socks.every((s) => s.destroyed || s.readableEnded)) break
      for (const s of socks) if (!s.destroyed) s.write(header.subarray(i, i + 1))
      sent = i + 1
      await holdFor(100) // the subject: a client that trickles its header
    }
    await closed
    closedAfter = sent
    t.ok(closedAfter < header.length, `closed before the header was complete (${closedAfter} of ${header.length} bytes)`)
    await until('3 PROXY_TIMEOUT log lines', () => cap.lines.filter((l) => l.code === 'PROXY_TIMEOUT').length === 3)
    const rejected = cap.lines.filter((l) => l.msg === 'PROXY header rejected')
    t.equal(rejected.length, 3, 'each logged')
    t.ok(rejected.every((l) => l.code === 'PROXY_TIMEOUT'), 'with PROXY_TIMEOUT')
    const l = lb.stats().listeners[0]
    t.equal(l.proxyErrors, 3, 'counted')
    t.equal(l.active, 0, 'nothing left open')
    t.equal(be.accepted, 0, 'no backend was dialled')
  })

  t.test('a client that never reads: the backend is stalled by bounded buffers, then idle-timeout', async (t) => {
    const chunk = Buffer.alloc(64 * 1024, 'x')
    let written = 0
    let stalled = false
    const servers = new Set<net.Socket>()
    const fast = net.createServer((s) => {
      servers.add(s)
      s.on('error', () => {})
      s.on('close', () => servers.delete(s))
      const pump = (): void => {
        // Bounded: at most 256 MB, far above any socket buffer.
        while (written < 256 * 1024 * 1024) {
          written += chunk.length
          if (!s.write(chunk)) {
            stalled = true
            s.once('drain', pump)
            return
          }
        }
      }
      pump()
    })
    await new Promise<void>((r) => fast.listen(0, '127.0.0.1', () => r()))
    t.teardown(() => {
      for (const s of servers) s.destroy()
      return new Promise((r) => fast.close(() => r(undefined)))
    })
    const port0 = (fast.address() as net.AddressInfo).port
    const { lb, port, closed } = await logged(t, [{ name: 'fast', port: port0 }], { top: { timeouts: { idle: '500ms' } } })
    const sock = await connect(port)
    sock.pause() // never reads
    sock.on('error', () => {})
    t.teardown(() => sock.destroy())
    await until('the backend hits backpressure', () => stalled)
    await until('the connection-closed log line', () => closed().length === 1, { deadlineMs: 10_000 })
    t.ok(written < 64 * 1024 * 1024, `the backend could write only ${(written / 1048576).toFixed(1)} MB before the session stalled`)
    t.match(closed()[0], { reason: 'idle-timeout', backend: 'fast' })
    t.ok((closed()[0].bytesOut as number) < written, 'the balancer did not buffer everything the backend tried to send')
    t.equal(lb.stats().listeners[0].active, 0)
  })
})
