// One meaning of each byte count, on real sockets: a connection log line's
// `bytesIn` is every payload byte the client sent (after any PROXY header),
// `bytesOut` every byte sent to the client; a backend's bytes sent
// (l4lb_backend_bytes_sent_total, its counters' `bytesIn`: bytesIn always means
// bytes from the client) are the client bytes written to THAT backend,
// bytes received are what it answered. Bytes that arrive in the same read as a
// PROXY header, bytes held while connecting, bytes carried over to a second
// backend on retry and bytes held when every connect fails each count once.
import { forEachEngine } from '../helpers/engines.ts'
import { encodeProxyV1, encodeProxyV2 } from '../../src/net/proxy-protocol/encode.ts'
import { refusedPort, startBackend } from '../fixtures/backend.ts'
import { logged } from '../hardening/helpers.ts'
import { connect, readAll } from '../helpers/lb.ts'
import { until } from '../helpers/until.ts'

const PAYLOAD = Buffer.alloc(3000, 'x')
const PROXY = { 'proxy-protocol': { accept: true, trusted: ['127.0.0.0/8'] } }

forEachEngine((t) => {
  for (const [name, header] of [
    ['v1', encodeProxyV1('203.0.113.7', 40000, '127.0.0.1', 443)],
    ['v2', encodeProxyV2('203.0.113.7', 40000, '127.0.0.1', 443)],
  ] as const) {
    t.test(`PROXY ${name}: payload in the same write as the header counts in bytesIn`, async (t) => {
      const be = await startBackend('echo', 'echo')
      t.teardown(() => be.close())
      const { lb, closed, port } = await logged(t, [be], { listener: PROXY })
      const c = await connect(port)
      const echoed = readAll(c)
      c.end(Buffer.concat([header, PAYLOAD])) // one write: header and payload arrive in one read
      t.same(await echoed, PAYLOAD, 'the payload went through and came back')
      await until('the connection-closed log line', () => closed().length === 1)
      t.match(closed()[0], { client: '203.0.113.7:40000', bytesIn: PAYLOAD.length, bytesOut: PAYLOAD.length })
      const s = lb.stats().backends[0]
      t.equal(s.bytesIn, PAYLOAD.length, 'backend bytes sent: the payload once, header not included')
      t.equal(s.bytesOut, PAYLOAD.length, 'backend bytes received: the echo')
    })
  }

  t.test('early bytes carried to a second backend on retry count once', async (t) => {
    const dead = { name: 'dead', port: await refusedPort() }
    const be = await startBackend('echo', 'echo')
    t.teardown(() => be.close())
    const { lb, closed, port } = await logged(t, [dead, be], { listener: PROXY, pool: { policy: 'round-robin' } })
    const header = encodeProxyV1('203.0.113.7', 40000, '127.0.0.1', 443)
    const N = 4
    for (let i = 0; i < N; i++) {
      const c = await connect(port)
      const echoed = readAll(c)
      c.end(Buffer.concat([header, PAYLOAD]))
      t.same(await echoed, PAYLOAD, `connection ${i} served`)
    }
    await until('N connection-closed log lines', () => closed().length === N)
    t.same(closed().map((l) => l.bytesIn), Array(N).fill(PAYLOAD.length), 'bytesIn: the payload once per connection')
    const stats = new Map(lb.stats().backends.map((b) => [b.id, b]))
    const retried = closed().filter((l) => l.tries === 2).length
    t.ok(retried > 0 && stats.get('dead')!.connectFailures === retried, `each connection retried away from the dead backend (${retried} of ${N}) counted one connect failure there`)
    t.equal(stats.get('dead')!.bytesIn, 0, 'nothing counted for the backend that refused')
    t.equal(stats.get('echo')!.bytesIn, N * PAYLOAD.length, 'the retried backend got each payload once')
  })

  t.test('a connect that fails after early bytes: bytesIn says what the client sent, no backend counts it', async (t) => {
    const dead = { name: 'dead', port: await refusedPort() }
    const { lb, closed, port } = await logged(t, [dead], { listener: PROXY })
    const c = await connect(port)
    const done = readAll(c)
    c.write(Buffer.concat([encodeProxyV2('203.0.113.7', 40000, '127.0.0.1', 443), PAYLOAD]))
    await done
    await until('the connection-closed log line', () => closed().length === 1)
    t.match(closed()[0], { reason: 'connect-failed', backend: null, bytesIn: PAYLOAD.length, bytesOut: 0 })
    t.equal(lb.stats().backends[0].bytesIn, 0)
  })

  t.test('no PROXY header: bytes sent before the backend answers count once', async (t) => {
    const be = await startBackend('echo', 'echo')
    t.teardown(() => be.close())
    const { lb, closed, port } = await logged(t, [be])
    const c = await connect(port)
    const echoed = readAll(c)
    c.end(PAYLOAD)
    t.same(await echoed, PAYLOAD)
    await until('the connection-closed log line', () => closed().length === 1)
    t.match(closed()[0], { bytesIn: PAYLOAD.length, bytesOut: PAYLOAD.length })
    t.equal(lb.stats().backends[0].bytesIn, PAYLOAD.length)
  })

  t.test('a long-lived connection\'s bytes show in its backend\'s counters while it lasts, and count once at its end', async (t) => {
    const be = await startBackend('echo', 'echo')
    t.teardown(() => be.close())
    const { lb, closed, port } = await logged(t, [be])
    const c = await connect(port)
    let got = 0
    c.on('data', (d: Buffer) => (got += d.length))
    const ended = new Promise((resolve) => c.once('end', resolve))
    c.write(PAYLOAD)
    await until('the echo', () => got === PAYLOAD.length)
    // Still open: the worker's stats reports (every 500 ms) must carry the bytes already moved.
    const live = await until('the bytes of the open connection in the backend counters', () => {
      const s = lb.stats().backends[0]
      return s !== undefined && s.bytesIn === PAYLOAD.length && s.bytesOut === PAYLOAD.length ? s : null
    }, { deadlineMs: 3000, intervalMs: 100 })
    t.equal(live.active, 1, 'counted while the connection is still open')
    c.write(PAYLOAD)
    await until('the second echo', () => got === 2 * PAYLOAD.length)
    c.end()
    await ended
    await until('the connection-closed log line', () => closed().length === 1)
    t.match(closed()[0], { bytesIn: 2 * PAYLOAD.length, bytesOut: 2 * PAYLOAD.length })
    const s = lb.stats().backends[0]
    t.equal(s.bytesIn, 2 * PAYLOAD.length, 'backend bytes sent: every byte once, samples and ending together')
    t.equal(s.bytesOut, 2 * PAYLOAD.length, 'backend bytes received: every byte once')
  })
})
