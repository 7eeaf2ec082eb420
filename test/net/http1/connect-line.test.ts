// The CONNECT request-line reader (src/net/http1/connect-line.ts): every
// outcome, every bad input issue 14 lists (oversized, malformed, split across
// many packets, never finished, not a CONNECT), bounded memory, and the
// caller's bytes left as they were.
import t from 'tap'
import { ConnectLineReader, MAX_CONNECT_LINE } from '../../../src/net/http1/connect-line.ts'

const read = (...chunks: (string | Buffer)[]) => {
  const r = new ConnectLineReader()
  let last = r.result
  for (const c of chunks) last = r.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c)
  return last
}

t.test('a CONNECT line gives its canonical authority', async (t) => {
  const cases: [string, string][] = [
    ['CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 'example.com:443'],
    ['CONNECT Example.COM.:443 HTTP/1.1\r\n', 'example.com:443'], // names: one form (case, trailing dot)
    ['CONNECT 10.0.0.1:8443 HTTP/1.0\r\n', '10.0.0.1:8443'],
    ['CONNECT [2001:DB8:0:0::1]:443 HTTP/1.1\r\n', '[2001:db8::1]:443'], // IPv6: RFC 5952
    ['CONNECT [::ffff:10.0.0.1]:443 HTTP/1.1\r\n', '10.0.0.1:443'],
    ['CONNECT a.b-c_d.example:1 HTTP/1.1\n', 'a.b-c_d.example:1'], // a bare LF ends the line too
    ['CONNECT host:65535 HTTP/1.1\r\n', 'host:65535'],
  ]
  for (const [line, authority] of cases) t.match(read(line), { kind: 'authority', authority }, JSON.stringify(line))
  t.match(read('CONNECT h:80 HTTP/1.1\r\n'), { host: 'h', port: 80 })
})

t.test('not a CONNECT: decided at the first byte that shows it', async (t) => {
  const cases: [string | Buffer, RegExp][] = [
    [Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), /TLS handshake/],
    ['GET / HTTP/1.1\r\n', /byte 0 is "G"/],
    ['connect host:443 HTTP/1.1\r\n', /byte 0 is "c"/], // methods are case-sensitive
    ['CONNECTX', /byte 7 is "X"/],
    ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', /byte 0 is "P"/],
    [Buffer.from([0x00, 0xff]), /byte 0 is 0x00/],
  ]
  for (const [input, why] of cases) t.match(read(input), { kind: 'not-connect', why }, JSON.stringify(input.toString()))
  t.same(read('CONNEC'), { kind: 'more' }, 'a prefix of CONNECT waits')
  t.match(read('C', 'O', 'N', 'X'), { kind: 'not-connect', why: /byte 3 is "X"/ }, 'split: decided at the byte, wherever the packets end')
})

t.test('malformed CONNECT lines', async (t) => {
  const cases: [string, RegExp][] = [
    ['CONNECT host:443\r\n', /no HTTP version/],
    ['CONNECT  host:443 HTTP/1.1\r\n', /empty request target/],
    ['CONNECT host:443 HTTP/2.0\r\n', /bad HTTP version/],
    ['CONNECT host:443 HTTP/1.1 extra\r\n', /bad HTTP version/],
    ['CONNECT host:443 http/1.1\r\n', /bad HTTP version/],
    ['CONNECT host HTTP/1.1\r\n', /no port/],
    ['CONNECT host: HTTP/1.1\r\n', /bad port/],
    ['CONNECT host:0 HTTP/1.1\r\n', /bad port/],
    ['CONNECT host:65536 HTTP/1.1\r\n', /bad port/],
    ['CONNECT host:44x HTTP/1.1\r\n', /bad port/],
    ['CONNECT :443 HTTP/1.1\r\n', /empty host/],
    ['CONNECT http://host:443/ HTTP/1.1\r\n', /not authority-form/],
    ['CONNECT user@host:443 HTTP/1.1\r\n', /not authority-form/],
    ['CONNECT ::1:443 HTTP/1.1\r\n', /IPv6 literal without brackets/],
    ['CONNECT [::1:443 HTTP/1.1\r\n', /bad port|unclosed/],
    ['CONNECT [::1]]:443 HTTP/1.1\r\n', /bad IPv6|unclosed/],
    ['CONNECT [nothex::1]:443 HTTP/1.1\r\n', /bad IPv6 literal/],
    ['CONNECT 1.2.3:443 HTTP/1.1\r\n', /bad IPv4 literal/],
    ['CONNECT 256.1.1.1:443 HTTP/1.1\r\n', /bad IPv4 literal/],
    ['CONNECT ho"st:443 HTTP/1.1\r\n', /bad character/],
    ['CONNECT ho\u0000st:443 HTTP/1.1\r\n', /control or non-ASCII/],
    ['CONNECT h\u00e9st:443 HTTP/1.1\r\n', /control or non-ASCII/],
    ['CONNECT host:443 HTTP/1.1\rX\r\n', /bad HTTP version/], // a lone CR is no line end
    [`CONNECT ${'a'.repeat(300)}:443 HTTP/1.1\r\n`, /host too long/],
  ]
  for (const [line, why] of cases) t.match(read(line), { kind: 'malformed', why }, JSON.stringify(line.slice(0, 50)))
})

t.test('split across many packets: the same outcome at every split, byte by byte too', async (t) => {
  const inputs = ['CONNECT [::1]:443 HTTP/1.1\r\n', 'CONNECT host:0 HTTP/1.1\r\n', 'GET / HTTP/1.1\r\n', 'CONNECT a.example:8080 HTTP/1.0\n']
  let mismatches = 0
  for (const input of inputs) {
    const whole = read(input)
    for (let cut = 1; cut < input.length; cut++) if (JSON.stringify(read(input.slice(0, cut), input.slice(cut))) !== JSON.stringify(whole)) mismatches++
    if (JSON.stringify(read(...[...input])) !== JSON.stringify(whole)) mismatches++
  }
  t.equal(mismatches, 0, 'every two-piece split and the byte-by-byte feed agree with one piece')
})

t.test('never finished: waits within the bound, then too-long; memory bounded', async (t) => {
  const r = new ConnectLineReader()
  t.same(r.push(Buffer.from('CONNECT host:443 HTTP/1.1')), { kind: 'more' }, 'no line end yet: the caller\'s timeout decides')
  t.same(r.push(Buffer.alloc(MAX_CONNECT_LINE - 40, 'a')), { kind: 'more' })
  t.same(r.push(Buffer.alloc(1024 * 1024, 'a')), { kind: 'too-long' }, 'a megabyte without a line end: too-long')
  t.same(r.push(Buffer.from('\r\n')), { kind: 'too-long' }, 'final: later bytes change nothing')
  t.match(read(Buffer.alloc(MAX_CONNECT_LINE + 1, 'C')), { kind: 'not-connect' }, 'oversized garbage is decided at its first byte')
  const exactly = `CONNECT ${'a'.repeat(MAX_CONNECT_LINE - 'CONNECT :1 HTTP/1.1\r'.length)}:1 HTTP/1.1\r\n`
  t.match(read(exactly), { kind: 'malformed', why: /host too long/ }, 'a line of exactly the bound is still read (and judged)')
})

t.test('outcomes are final and the caller\'s bytes are untouched', async (t) => {
  const r = new ConnectLineReader()
  const chunk = Buffer.from('CONNECT h:1 HTTP/1.1\r\nrest of the request')
  const copy = Buffer.from(chunk)
  const first = r.push(chunk)
  t.match(first, { kind: 'authority', authority: 'h:1' })
  t.ok(chunk.equals(copy), 'the chunk is unchanged')
  t.equal(r.push(Buffer.from('CONNECT other:2 HTTP/1.1\r\n')), first, 'later lines are not looked at')
})
