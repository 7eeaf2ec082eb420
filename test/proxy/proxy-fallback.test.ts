// Issue 9, kind 4: a listener that accepts PROXY must serve a client whose
// header is valid but names a family/transport l4lb does not decode (UDP,
// UNIX, UNSPEC transport, v1 UNKNOWN with addresses): the specification
// (haproxy doc/proxy-protocol.txt 2.1 and 2.2) says to fall back to the
// connection's own endpoints. Real sockets: the client is served, the header
// is stripped, and the connection is logged with the socket's own address,
// never the one in the header. Malformed headers stay rejected with an offset.
import net from 'node:net'
import { startBackend } from '../fixtures/backend.ts'

import { logged } from '../hardening/helpers.ts'
import { until } from '../helpers/until.ts'
import { forEachEngine } from '../helpers/engines.ts'

const SIG = '0d0a0d0a000d0a515549540a'
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')
/** 203.0.113.7:40000 -> 198.51.100.1:443: addresses that must never show up. */
const V4_BLOCK = 'cb007107 c6336401 9c40 01bb'
const UNIX_PATH = Buffer.alloc(108, 0)
UNIX_PATH.write('/run/haproxy/front.sock')
const UNIX_BLOCK = Buffer.concat([UNIX_PATH, UNIX_PATH]).toString('hex')

const cases: [string, Buffer][] = [
  ['v2 PROXY UDP over IPv4 (0x12)', hex(`${SIG} 21 12 000c ${V4_BLOCK}`)],
  ['v2 PROXY UDP over IPv6 (0x22) with a TLV', hex(`${SIG} 21 22 002a 20010db8000000000000000000000007 20010db8000000000000000000000001 9c40 01bb 02 0003 616263`)],
  ['v2 PROXY UNIX stream (0x31) with a NOOP TLV', hex(`${SIG} 21 31 00dc ${UNIX_BLOCK} 04 0001 00`)],
  ['v2 PROXY UNIX datagram (0x32)', hex(`${SIG} 21 32 00d8 ${UNIX_BLOCK}`)],
  ['v2 PROXY INET with transport UNSPEC (0x10)', hex(`${SIG} 21 10 000c ${V4_BLOCK}`)],
  ['v1 UNKNOWN followed by addresses', Buffer.from('PROXY UNKNOWN 203.0.113.7 198.51.100.1 40000 443\r\n', 'latin1')],
  ['v1 UNKNOWN with a lone CR in the ignored part', Buffer.from('PROXY UNKNOWN x\ry\r\n', 'latin1')],
]

interface Exchange {
  got: string
  localPort: number
}

/** From 127.0.0.<host>: send header + "ping\n", end, read until the balancer closes. */
function exchange(port: number, host: number, header: Buffer): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: `127.0.0.${host}` })
    let got = ''
    let localPort = -1
    const timer = setTimeout(() => {
      s.destroy()
      reject(new Error(`no close within 5 s (got ${JSON.stringify(got)})`))
    }, 5000)
    s.setEncoding('latin1')
    s.on('connect', () => {
      localPort = s.localPort ?? -1 // gone once closed
      s.end(Buffer.concat([header, Buffer.from('ping\n')]))
    })
    s.on('data', (d: string) => (got += d))
    s.on('error', () => {})
    s.on('close', () => {
      clearTimeout(timer)
      resolve({ got, localPort })
    })
  })
}

forEachEngine((t) => {
  t.test('valid but unsupported families are served with the connection’s own address', async (t) => {
    const be = await startBackend('a')
    t.teardown(() => be.close())
    const { cap, closed, port } = await logged(t, [be], { listener: { 'proxy-protocol': { accept: true, trusted: ['127.0.0.0/8'] } } })
    let host = 10
    for (const [name, header] of cases) {
      host++
      const ex = await exchange(port, host, header)
      t.equal(ex.got, 'a\nping\n', `${name}: served, header stripped, payload intact`)
      const client = `127.0.0.${host}:${ex.localPort}`
      await until(`${name}: logged as ${client}`, () => closed().some((l) => l.client === client), { deadlineMs: 3000 })
      const line = closed().find((l) => l.client === client)
      t.match(line, { backend: 'a', bytesOut: 7 }, `${name}: log line`)
    }
    t.same(cap.lines.filter((l) => l.msg === 'PROXY header rejected'), [], 'nothing rejected')
    t.notOk(JSON.stringify(cap.lines).includes('203.0.113.7'), 'the address in the header is never used')
  })

  t.test('malformed headers stay rejected, with the byte offset', async (t) => {
    const be = await startBackend('a')
    t.teardown(() => be.close())
    const { cap, port } = await logged(t, [be], { listener: { 'proxy-protocol': { accept: true, trusted: ['127.0.0.0/8'] } } })
    const bad: [string, Buffer, RegExp][] = [
      ['family 0x41', hex(`${SIG} 21 41 000c ${V4_BLOCK}`), /family 0x41 at byte 13/],
      ['transport 3', hex(`${SIG} 21 13 000c ${V4_BLOCK}`), /family 0x13 at byte 13/],
      ['UNIX block cut short', hex(`${SIG} 21 31 000c ${V4_BLOCK}`), /under the address block \(216\) at byte 14/],
      ['UDP TLV overrun', hex(`${SIG} 21 12 0010 ${V4_BLOCK} 01 0005 00`), /TLV overruns the header at byte 28/],
      ['v1 LF alone after UNKNOWN', Buffer.from('PROXY UNKNOWN x\ny\r\n', 'latin1'), /LF without CR at byte 15/],
    ]
    for (const [name, header, reason] of bad) {
      const ex = await exchange(port, 20, header)
      t.equal(ex.got, '', `${name}: not served`)
      const client = `127.0.0.20:${ex.localPort}`
      await until(`${name}: rejection logged`, () => cap.lines.some((l) => l.msg === 'PROXY header rejected' && l.client === client), { deadlineMs: 3000 })
      t.match(cap.lines.find((l) => l.client === client), { code: 'PROXY_BAD_HEADER', reason }, `${name}: code and offset`)
    }
    t.equal(be.accepted, 0, 'no malformed header reached the backend')
  })
})
