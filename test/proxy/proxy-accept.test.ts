// readProxyHeader on real sockets (127.0.0.1, port 0): headers with trailing
// payload, slow byte-by-byte senders, timeout, truncation, reset, untrusted.
import net from 'node:net'
import t from 'tap'
import { encodeProxyV1, encodeProxyV2 } from '../../src/net/proxy-protocol/encode.ts'
import { readProxyHeader, type ProxyAcceptOptions, type ProxyAcceptResult } from '../../src/proxy/proxy-accept.ts'
import { holdFor, until } from '../helpers/until.ts'

const PAYLOAD = Buffer.from('hello backend\n'.repeat(50))
const trustAll: ProxyAcceptOptions = { timeoutMs: 2000, trusted: () => true }

interface Accepted {
  result: ProxyAcceptResult
  calls: () => number
  socket: net.Socket
  /** Listener counts (data, end, close, error) before readProxyHeader and when done ran. */
  listeners: { before: string; atDone: string }
  /** rest + whatever else arrives until the client ends (resumes the socket). */
  drain: () => Promise<Buffer>
}

/** A server that runs readProxyHeader on its one connection; `send` drives the client side. */
async function run(
  t: { teardown: (fn: () => unknown) => void },
  opts: ProxyAcceptOptions,
  send: (client: net.Socket) => Promise<void> | void,
): Promise<Accepted> {
  const sockets: net.Socket[] = []
  const server = net.createServer()
  t.teardown(async () => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const accepted = new Promise<Accepted>((resolve) => {
    server.once('connection', (socket) => {
      sockets.push(socket)
      let calls = 0
      const count = (): string => ['data', 'end', 'close', 'error'].map((e) => socket.listenerCount(e)).join()
      const listeners = { before: count(), atDone: '' }
      readProxyHeader(socket, opts, (result) => {
        calls++
        listeners.atDone = count()
        socket.on('error', () => {})
        const drain = (): Promise<Buffer> =>
          new Promise((res) => {
            const parts = [result.ok ? result.rest : Buffer.alloc(0)]
            socket.on('data', (c: Buffer) => parts.push(c))
            socket.once('end', () => res(Buffer.concat(parts)))
            socket.resume()
          })
        resolve({ result, calls: () => calls, socket, listeners, drain })
      })
    })
  })
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  sockets.push(client)
  client.on('error', () => {})
  client.setNoDelay(true)
  await new Promise<void>((resolve) => client.once('connect', () => resolve()))
  await send(client)
  return accepted
}

t.test('valid v1 with trailing payload in one write', async (t) => {
  const header = encodeProxyV1('203.0.113.7', 40000, '10.0.0.1', 443)
  const a = await run(t, trustAll, (c) => void c.end(Buffer.concat([header, PAYLOAD])))
  t.match(a.result, { ok: true, header: { version: 1, family: 'TCP4', srcAddress: '203.0.113.7', srcPort: 40000, dstPort: 443 } })
  t.ok(a.socket.isPaused(), 'handed on paused')
  t.equal(a.socket.destroyed, false, 'not destroyed')
  t.equal(a.listeners.atDone, a.listeners.before, 'own listeners removed')
  t.same(await a.drain(), PAYLOAD, 'rest + later bytes are exactly the payload')
})

t.test('valid v2 (IPv6) split into 1-byte writes with delays', async (t) => {
  const header = encodeProxyV2('2001:db8::42', 1234, '2001:db8::1', 8443)
  const a = await run(t, trustAll, async (c) => {
    for (const b of header) {
      c.write(Buffer.from([b]))
      await holdFor(2) // the subject: a header dribbled in with pauses
    }
    c.end(PAYLOAD)
  })
  t.match(a.result, { ok: true, header: { version: 2, family: 'TCP6', srcAddress: '2001:db8::42', srcPort: 1234, dstAddress: '2001:db8::1', dstPort: 8443 } })
  t.same(await a.drain(), PAYLOAD)
  t.equal(a.calls(), 1)
})

t.test('header and payload sharing small writes', async (t) => {
  const bytes = Buffer.concat([encodeProxyV1('10.1.1.1', 1, '10.2.2.2', 2), PAYLOAD])
  const a = await run(t, trustAll, async (c) => {
    for (let at = 0; at < bytes.length; at += 7) {
      c.write(bytes.subarray(at, at + 7))
      if (at < 80) await holdFor(1) // the subject: separate small writes
    }
    c.end()
  })
  t.equal(a.result.ok, true)
  t.same(await a.drain(), PAYLOAD)
})

t.test('header timeout fires once and leaves the socket to the caller', async (t) => {
  const a = await run(t, { timeoutMs: 100, trusted: () => true }, (c) => void c.write('PROXY TCP4 1.2'))
  t.match(a.result, { ok: false, code: 'PROXY_TIMEOUT', reason: /100ms \(14 bytes read\)/ })
  t.equal(a.socket.destroyed, false, 'caller closes it')
  t.equal(a.listeners.atDone, a.listeners.before, 'own listeners removed')
  a.socket.destroy()
  await holdFor(150) // the subject: longer than the 100 ms timer, so a second call would show
  t.equal(a.calls(), 1, 'done called exactly once')
})

t.test('peer closes mid-header: PROXY_TRUNCATED', async (t) => {
  const a = await run(t, trustAll, (c) => void c.end(encodeProxyV2('1.2.3.4', 1, '5.6.7.8', 2).subarray(0, 20)))
  t.match(a.result, { ok: false, code: 'PROXY_TRUNCATED', reason: /at byte 20/ })
  await holdFor(50) // the subject: room for a late second call (close after end)
  t.equal(a.calls(), 1)
})

t.test('peer resets mid-header: PROXY_TRUNCATED', async (t) => {
  const a = await run(t, trustAll, async (c) => {
    c.write('PROXY TCP')
    await holdFor(20) // the subject: the reset comes after part of the header
    c.resetAndDestroy()
  })
  t.match(a.result, { ok: false, code: 'PROXY_TRUNCATED' })
  await holdFor(50) // the subject: room for a late second call (error then close)
  t.equal(a.calls(), 1)
})

t.test('garbage fails at once with PROXY_BAD_SIGNATURE', async (t) => {
  const a = await run(t, { timeoutMs: 10000, trusted: () => true }, (c) => void c.write('GET / HTTP/1.1\r\n'))
  t.match(a.result, { ok: false, code: 'PROXY_BAD_SIGNATURE', reason: /at byte 0/ })
})

t.test('untrusted source: PROXY_UNTRUSTED before reading, asynchronously', async (t) => {
  const seen: string[] = []
  const a = await run(t, { timeoutMs: 2000, trusted: (addr) => (seen.push(addr), false) }, (c) => void c.write(encodeProxyV1('1.2.3.4', 1, '5.6.7.8', 2)))
  t.match(a.result, { ok: false, code: 'PROXY_UNTRUSTED', reason: /127\.0\.0\.1/ })
  t.same(seen, ['127.0.0.1'])
  t.equal(a.socket.listenerCount('data'), 0)
  t.equal(a.socket.destroyed, false)

  let sync = true
  let called = 0
  const s = new net.Socket()
  readProxyHeader(s, trustAll, () => {
    called++
    t.equal(sync, false, 'never called synchronously')
  })
  sync = false
  await until('done called for a socket without a peer address', () => called > 0)
  t.equal(called, 1, 'a socket without a peer address is untrusted, once')
  s.destroy()
})

t.test('a throwing matcher trusts no one', async (t) => {
  const a = await run(t, { timeoutMs: 2000, trusted: () => { throw new Error('boom') } }, () => {})
  t.match(a.result, { ok: false, code: 'PROXY_UNTRUSTED' })
})
