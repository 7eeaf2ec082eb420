// The incremental PROXY protocol parser: golden parses, every malformed class
// with its code and byte offset, early decisions, 1-byte chunking, and
// encode -> parse round trips for generated addresses and ports.
import t from 'tap'
import fc from 'fast-check'
import { encodeProxyV1, encodeProxyV2, PROXY_V2_LOCAL } from '../../src/net/proxy-protocol/encode.ts'
import { canonicalIPv6 } from '../../src/net/ip.ts'
import { parseProxyHeader, ProxyParser } from '../../src/net/proxy-protocol/parser.ts'
import type { ParseResult } from '../../src/net/proxy-protocol/types.ts'
import { MAX_HEADER_LENGTH } from '../../src/net/proxy-protocol/types.ts'

const SIG = '0d0a0d0a000d0a515549540a'
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')
const v1 = (s: string): Buffer => Buffer.from(s, 'latin1')
const PAYLOAD = v1('GET / HTTP/1.1\r\n\r\n')

/** Feed `buf` in chunks of the given sizes (cycled); returns the result and the bytes after the header. */
function feed(buf: Buffer, sizes: number[]): { r: ParseResult; after: Buffer } {
  const p = new ProxyParser()
  let r: ParseResult = { status: 'need-more', consumed: 0, atMost: MAX_HEADER_LENGTH }
  for (let at = 0, k = 0; at < buf.length; k++) {
    const next = Math.min(buf.length, at + Math.max(1, sizes[k % sizes.length]))
    r = p.push(buf.subarray(at, next))
    at = next
    if (r.status === 'done') return { r, after: Buffer.concat([r.rest, buf.subarray(at)]) }
    if (r.status === 'error') break
  }
  return { r, after: Buffer.alloc(0) }
}

function summary(r: ParseResult): unknown {
  if (r.status === 'done') return { status: r.status, header: r.header }
  return r
}

t.test('valid headers', async (t) => {
  const cases: [string, Buffer, object][] = [
    ['v1 TCP4', v1('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n'),
      { version: 1, command: 'PROXY', family: 'TCP4', srcAddress: '192.168.0.1', srcPort: 56324, dstAddress: '192.168.0.11', dstPort: 443 }],
    ['v1 TCP6 upper case, uncompressed', v1('PROXY TCP6 2001:DB8:0:0:0:0:0:1 ::1 0 65535\r\n'),
      { version: 1, command: 'PROXY', family: 'TCP6', srcAddress: '2001:db8::1', srcPort: 0, dstAddress: '::1', dstPort: 65535 }],
    ['v1 TCP6 mapped', v1('PROXY TCP6 ::ffff:1.2.3.4 ::1 1 2\r\n'),
      { family: 'TCP6', srcAddress: '::ffff:1.2.3.4' }],
    ['v1 UNKNOWN', v1('PROXY UNKNOWN\r\n'), { version: 1, command: 'PROXY', family: 'UNKNOWN', srcAddress: null, srcPort: null }],
    ['v1 UNKNOWN with junk', v1('PROXY UNKNOWN ffff:: \x00 whatever\r\n'), { family: 'UNKNOWN', dstAddress: null }],
    ['v1 UNKNOWN of 107 bytes', v1(`PROXY UNKNOWN ${'x'.repeat(107 - 16)}\r\n`), { family: 'UNKNOWN' }],
    ['v2 TCP4', hex(`${SIG} 21 11 000c 01020304 0a000001 0005 01bb`),
      { version: 2, command: 'PROXY', family: 'TCP4', srcAddress: '1.2.3.4', srcPort: 5, dstAddress: '10.0.0.1', dstPort: 443 }],
    ['v2 TCP6', hex(`${SIG} 21 21 0024 20010db8000000000000000000000001 00000000000000000000000000000001 0005 01bb`),
      { version: 2, command: 'PROXY', family: 'TCP6', srcAddress: '2001:db8::1', srcPort: 5, dstAddress: '::1', dstPort: 443 }],
    ['v2 TCP4 with TLVs', hex(`${SIG} 21 11 0017 01020304 0a000001 0005 01bb 04 0002 0000 02 0003 616263`),
      { family: 'TCP4', srcAddress: '1.2.3.4' }],
    ['v2 LOCAL', PROXY_V2_LOCAL, { version: 2, command: 'LOCAL', family: 'UNKNOWN', srcAddress: null }],
    ['v2 LOCAL ignores family and skips the block', hex(`${SIG} 20 12 0003 aabbcc`), { command: 'LOCAL', family: 'UNKNOWN' }],
    ['v2 PROXY UNSPEC', hex(`${SIG} 21 00 0002 abcd`), { command: 'PROXY', family: 'UNKNOWN', srcAddress: null }],
    // Issue 9, kind 4: valid but unsupported families/transports fall back to
    // the real endpoints (spec 2.2: "falls back to the UNSPEC mode"), address
    // block skipped, TLVs after it still framed.
    ['v2 UDP4', hex(`${SIG} 21 12 000c 01020304 0a000001 0005 01bb`), { command: 'PROXY', family: 'UNKNOWN', srcAddress: null, srcPort: null }],
    ['v2 UDP6', hex(`${SIG} 21 22 0024 ${'11'.repeat(36)}`), { command: 'PROXY', family: 'UNKNOWN', dstAddress: null }],
    ['v2 UNIX stream', hex(`${SIG} 21 31 00d8 ${'2f'.repeat(216)}`), { command: 'PROXY', family: 'UNKNOWN', srcAddress: null }],
    ['v2 UNIX dgram with a TLV', hex(`${SIG} 21 32 00de ${'00'.repeat(216)} 02 0003 616263`), { family: 'UNKNOWN' }],
    ['v2 UDP4 with TLVs', hex(`${SIG} 21 12 0017 01020304 0a000001 0005 01bb 04 0002 0000 02 0003 616263`), { family: 'UNKNOWN' }],
    ['v2 INET, transport UNSPEC', hex(`${SIG} 21 10 0000`), { family: 'UNKNOWN' }],
    ['v2 UNSPEC family, STREAM', hex(`${SIG} 21 01 0004 01020304`), { family: 'UNKNOWN' }],
    ['v2 UNIX, transport UNSPEC, no block', hex(`${SIG} 21 30 0000`), { family: 'UNKNOWN' }],
    ['v2 LOCAL with an invalid family byte', hex(`${SIG} 20 ff 0000`), { command: 'LOCAL', family: 'UNKNOWN' }],
    ['v2 LOCAL with an address block and TLV', hex(`${SIG} 20 11 0010 01020304 0a000001 0005 01bb 04 0001 00`), { command: 'LOCAL', family: 'UNKNOWN' }],
    ['v1 UNKNOWN with full TCP6 addresses (107 bytes)',
      v1(`PROXY UNKNOWN ${'ffff:'.repeat(7)}ffff ${'ffff:'.repeat(7)}ffff 65535 65535\r\n`), { version: 1, family: 'UNKNOWN', srcAddress: null }],
    ['v1 UNKNOWN with a lone CR in what is ignored', v1('PROXY UNKNOWN a\rb\r\n'), { family: 'UNKNOWN' }],
    ['v1 TCP6 of 104 bytes', v1(`PROXY TCP6 ${'ffff:'.repeat(7)}ffff ${'ffff:'.repeat(7)}ffff 65535 65535\r\n`), { family: 'TCP6', srcPort: 65535 }],
    ['v1 TCP4 of 56 bytes', v1('PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n'), { family: 'TCP4', srcAddress: '255.255.255.255' }],
    ['v2 at the 2048-byte cap', Buffer.concat([hex(`${SIG} 21 11 0800 01020304 0a000001 0005 01bb 04 07f1`), Buffer.alloc(2033)]),
      { family: 'TCP4' }],
  ]
  for (const [name, header, want] of cases) {
    const whole = parseProxyHeader(Buffer.concat([header, PAYLOAD]))
    t.equal(whole.status, 'done', name)
    if (whole.status !== 'done') continue
    t.match(whole.header, want, name)
    t.same(whole.rest, PAYLOAD, `${name}: rest`)
    const bytewise = feed(Buffer.concat([header, PAYLOAD]), [1])
    t.same(summary(bytewise.r), summary(whole), `${name}: 1-byte chunks`)
    t.same(bytewise.after, PAYLOAD, `${name}: 1-byte chunks, bytes after`)
    const alone = parseProxyHeader(header)
    t.equal(alone.status === 'done' && alone.rest.length, 0, `${name}: empty rest`)
  }
})

t.test('malformed headers: code and offset', async (t) => {
  const v4 = (tail: string): Buffer => hex(`${SIG} ${tail}`)
  const cases: [string, Buffer, string, RegExp][] = [
    ['HTTP request', v1('GET / HTTP/1.1\r\n'), 'PROXY_BAD_SIGNATURE', /at byte 0/],
    ['TLS hello', hex('160301'), 'PROXY_BAD_SIGNATURE', /at byte 0/],
    ['PROXZ', v1('PROXZ TCP4'), 'PROXY_BAD_SIGNATURE', /at byte 4/],
    ['PROXY without space', v1('PROXY\r\n'), 'PROXY_BAD_SIGNATURE', /at byte 5/],
    ['v2 bad signature byte', hex('0d0a0d0a000d0a515549550a'), 'PROXY_BAD_SIGNATURE', /v2: bad signature at byte 10/],
    ['lower-case proxy', v1('proxy TCP4'), 'PROXY_BAD_SIGNATURE', /at byte 0/],
    ['unknown protocol', v1('PROXY TCP5 1.2.3.4 1.2.3.4 1 2\r\n'), 'PROXY_BAD_HEADER', /protocol at byte 6/],
    ['UDP4', v1('PROXY UDP4 1.2.3.4 1.2.3.4 1 2\r\n'), 'PROXY_BAD_HEADER', /protocol at byte 6/],
    ['UNKNOWNX', v1('PROXY UNKNOWNX\r\n'), 'PROXY_BAD_HEADER', /protocol at byte 6/],
    ['double space', v1('PROXY TCP4  1.2.3.4 1.2.3.4 1 2\r\n'), 'PROXY_BAD_HEADER', /bad source address at byte 11/],
    ['tab', v1('PROXY TCP4 1.2.3.4\t1.2.3.4 1 2\r\n'), 'PROXY_BAD_HEADER', /bad character 0x9 at byte 18/],
    ['IPv6 zone', v1('PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n'), 'PROXY_BAD_HEADER', /bad character 0x25 at byte 18/],
    ['missing fields', v1('PROXY TCP4 1.2.3.4 1.2.3.4 1\r\n'), 'PROXY_BAD_HEADER', /missing destination port at byte 28/],
    ['trailing space', v1('PROXY TCP4 1.2.3.4 1.2.3.4 1 2 \r\n'), 'PROXY_BAD_HEADER', /after destination port at byte 30/],
    ['extra field', v1('PROXY TCP4 1.2.3.4 1.2.3.4 1 2 3\r\n'), 'PROXY_BAD_HEADER', /after destination port at byte 30/],
    ['bad IPv4', v1('PROXY TCP4 256.2.3.4 1.2.3.4 1 2\r\n'), 'PROXY_BAD_HEADER', /bad source address at byte 11/],
    ['IPv4 leading zero', v1('PROXY TCP4 1.2.3.4 1.2.3.04 1 2\r\n'), 'PROXY_BAD_HEADER', /bad destination address at byte 19/],
    ['short IPv4', v1('PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n'), 'PROXY_BAD_HEADER', /bad source address at byte 11/],
    ['IPv6 in TCP4', v1('PROXY TCP4 ::1 1.2.3.4 1 2\r\n'), 'PROXY_BAD_HEADER', /bad source address at byte 11/],
    ['IPv4 in TCP6', v1('PROXY TCP6 ::1 1.2.3.4 1 2\r\n'), 'PROXY_BAD_HEADER', /bad destination address at byte 15/],
    ['bad IPv6', v1('PROXY TCP6 1::2::3 ::1 1 2\r\n'), 'PROXY_BAD_HEADER', /bad source address at byte 11/],
    ['port 65536', v1('PROXY TCP4 1.2.3.4 1.2.3.4 65536 2\r\n'), 'PROXY_BAD_HEADER', /bad source port at byte 27/],
    ['port leading zero', v1('PROXY TCP4 1.2.3.4 1.2.3.4 1 080\r\n'), 'PROXY_BAD_HEADER', /bad destination port at byte 29/],
    ['port hex', v1('PROXY TCP4 1.2.3.4 1.2.3.4 1a 2\r\n'), 'PROXY_BAD_HEADER', /bad source port at byte 27/],
    ['port too many digits', v1('PROXY TCP4 1.2.3.4 1.2.3.4 000001 2\r\n'), 'PROXY_BAD_HEADER', /bad source port at byte 27/],
    ['LF without CR', v1('PROXY TCP4 1.2.3.4 1.2.3.4 1 2\n'), 'PROXY_BAD_HEADER', /LF without CR at byte 30/],
    ['CR without LF', v1('PROXY UNKNOWN\rX'), 'PROXY_BAD_HEADER', /CR not followed by LF at byte 13/],
    ['CR without LF in TCP4', v1('PROXY TCP4 1.2.3.4\r1.2.3.4 1 2\r\n'), 'PROXY_BAD_HEADER', /CR not followed by LF at byte 18/],
    ['LF alone in the UNKNOWN tail', v1('PROXY UNKNOWN a\nb\r\n'), 'PROXY_BAD_HEADER', /LF without CR at byte 15/],
    ['UNKNOWN without a space', v1('PROXY UNKNOWNx\r\n'), 'PROXY_BAD_HEADER', /protocol at byte 6/],
    ['v1 too long', v1(`PROXY UNKNOWN ${'x'.repeat(200)}\r\n`), 'PROXY_TOO_LONG', /107/],
    ['v1 108 bytes', v1(`PROXY UNKNOWN ${'x'.repeat(108 - 16)}\r\n`), 'PROXY_TOO_LONG', /107/],
    ['v2 version 1', v4('11 11 000c'), 'PROXY_BAD_HEADER', /version 1 at byte 12/],
    ['v2 command 2', v4('22 11 000c'), 'PROXY_BAD_HEADER', /command 2 at byte 12/],
    ['v2 family 0x41', v4('21 41 000c'), 'PROXY_BAD_HEADER', /family 0x41 at byte 13/],
    ['v2 transport 3', v4('21 13 000c'), 'PROXY_BAD_HEADER', /family 0x13 at byte 13/],
    ['v2 transport 15', v4('21 0f 0000'), 'PROXY_BAD_HEADER', /family 0x0f at byte 13/],
    ['v2 short UDP4 block', v4('21 12 0008 0102030405060708'), 'PROXY_BAD_HEADER', /length 8 under the address block \(12\) at byte 14/],
    ['v2 short UDP6 block', v4('21 22 000c 0102030405060708090a0b0c'), 'PROXY_BAD_HEADER', /under the address block \(36\) at byte 14/],
    ['v2 short UNIX block', v4('21 31 006c'), 'PROXY_BAD_HEADER', /length 108 under the address block \(216\) at byte 14/],
    ['v2 UDP4 TLV overrun', v4('21 12 0010 01020304 0a000001 0005 01bb 01 0005 00'), 'PROXY_BAD_HEADER', /TLV overruns the header at byte 28/],
    ['v2 UNIX TLV stub', hex(`${SIG} 21 31 00da ${'00'.repeat(216)} 0100`), 'PROXY_BAD_HEADER', /truncated TLV at byte 232/],
    ['v2 short INET block', v4('21 11 0008 0102030405060708'), 'PROXY_BAD_HEADER', /length 8 under .* at byte 14/],
    ['v2 short INET6 block', v4('21 21 000c 0102030405060708090a0b0c'), 'PROXY_BAD_HEADER', /at byte 14/],
    ['v2 length 2049', v4('21 11 0801'), 'PROXY_TOO_LONG', /length 2049 over 2048 at byte 14/],
    ['v2 length 0xffff', v4('21 11 ffff'), 'PROXY_TOO_LONG', /over 2048 at byte 14/],
    ['v2 TLV overrun', v4('21 11 0010 01020304 0a000001 0005 01bb 01 0005 00'), 'PROXY_BAD_HEADER', /TLV overruns the header at byte 28/],
    ['v2 TLV stub', v4('21 11 000e 01020304 0a000001 0005 01bb 0100'), 'PROXY_BAD_HEADER', /truncated TLV at byte 28/],
  ]
  for (const [name, buf, code, reason] of cases) {
    const r = parseProxyHeader(Buffer.concat([buf, PAYLOAD]))
    t.match(r, { status: 'error', code, reason }, name)
    t.same(feed(Buffer.concat([buf, PAYLOAD]), [1]).r, r, `${name}: same in 1-byte chunks`)
  }
})

t.test('decides on the first bytes', async (t) => {
  for (const [name, first, code] of [
    ['G', 'G', 'PROXY_BAD_SIGNATURE'],
    ['PO (POST)', 'PO', 'PROXY_BAD_SIGNATURE'],
    ['CR then A', '\rA', 'PROXY_BAD_SIGNATURE'],
    ['PROXY T then X', 'PROXY TX', 'PROXY_BAD_HEADER'],
  ] as const) {
    t.match(parseProxyHeader(v1(first)), { status: 'error', code }, name)
  }
  t.match(parseProxyHeader(hex(`${SIG} 21 11 09`)), { status: 'error', code: 'PROXY_TOO_LONG' }, 'v2 length high byte alone')
  t.match(parseProxyHeader(hex(`${SIG} 21 12`)), { status: 'need-more' }, 'v2 UDP is not refused (issue 9)')
  t.match(parseProxyHeader(hex(`${SIG} 21 43`)), { status: 'error', code: 'PROXY_BAD_HEADER' }, 'v2 invalid family before the length')
})

t.test('truncated input asks for a bounded amount, end() gives PROXY_TRUNCATED', async (t) => {
  const headers = [
    encodeProxyV1('1.2.3.4', 1, '5.6.7.8', 2),
    encodeProxyV1('2001:db8::1', 1, '::1', 2),
    encodeProxyV2('1.2.3.4', 1, '5.6.7.8', 2),
    encodeProxyV2('2001:db8::1', 1, '::1', 2),
  ]
  for (const h of headers) {
    for (let cut = 0; cut < h.length; cut++) {
      const p = new ProxyParser()
      const r = p.push(h.subarray(0, cut))
      if (r.status !== 'need-more') {
        t.fail(`cut ${cut}: ${r.status}`)
        continue
      }
      t.ok(r.consumed === cut && r.consumed + r.atMost <= MAX_HEADER_LENGTH && r.atMost >= h.length - cut, `cut ${cut}`)
      t.match(p.end(), { status: 'error', code: 'PROXY_TRUNCATED', reason: new RegExp(`at byte ${cut}`) })
    }
  }
  const p = new ProxyParser()
  p.push(v1('PROXY UNKNOWN\r\n'))
  t.equal(p.end().status, 'done', 'end() after done keeps the result')
})

t.test('round trips encode -> parse (fast-check)', async (t) => {
  const port = fc.integer({ min: 0, max: 65535 })
  const addr = fc.oneof(fc.ipV4(), fc.ipV6())
  const expected = (a: string): { fam: string; text: string } => {
    if (a.includes(':')) {
      const c = canonicalIPv6(a) as string
      return c.startsWith('::ffff:') && c.includes('.') ? { fam: 'TCP4', text: c.slice(7) } : { fam: 'TCP6', text: c }
    }
    return { fam: 'TCP4', text: a }
  }
  fc.assert(
    fc.property(addr, port, addr, port, fc.boolean(), fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 }),
      (src, sp, dst, dp, useV2, sizes) => {
        const a = expected(src)
        const b = expected(dst)
        const bytes = Buffer.concat([(useV2 ? encodeProxyV2 : encodeProxyV1)(src, sp, dst, dp), PAYLOAD])
        const whole = parseProxyHeader(bytes)
        const chunked = feed(bytes, sizes)
        if (whole.status !== 'done' || chunked.r.status !== 'done') return false
        if (!whole.rest.equals(PAYLOAD) || !chunked.after.equals(PAYLOAD)) return false
        const h = whole.header
        if (JSON.stringify(h) !== JSON.stringify(chunked.r.header)) return false
        if (a.fam !== b.fam) return h.family === 'UNKNOWN' && h.srcAddress === null
        return h.version === (useV2 ? 2 : 1) && h.family === a.fam && h.srcAddress === a.text &&
          h.dstAddress === b.text && h.srcPort === sp && h.dstPort === dp
      }),
    { numRuns: 5000 },
  )
  t.pass('round trips hold')
})

t.test('random bytes: never throws, same result in any chunking', async (t) => {
  const prefix = fc.constantFrom(Buffer.alloc(0), v1('PROXY '), v1('PROXY TCP4 '), v1('PROXY TCP6 '), hex(SIG), hex(`${SIG}21`), hex(`${SIG}2111`))
  fc.assert(
    fc.property(prefix, fc.uint8Array({ maxLength: 120 }), fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 4 }),
      (pre, body, sizes) => {
        const bytes = Buffer.concat([pre, body])
        const whole = parseProxyHeader(bytes)
        const chunked = feed(bytes, sizes)
        if (whole.status === 'need-more' && whole.consumed + whole.atMost > MAX_HEADER_LENGTH) return false
        return JSON.stringify(summary(whole)) === JSON.stringify(summary(chunked.r))
      }),
    { numRuns: 20000 },
  )
  t.pass('no throw, chunking invariant')
})
