// The backend status-line observer (src/net/http1/status-line.ts): a status
// from the first 13 bytes however they are split; anything not HTTP/1.x, or a
// close before the status, is `unknown`, never a failure; the verdict rule.
import t from 'tap'
import { connectVerdict, StatusLineObserver } from '../../../src/net/http1/status-line.ts'

const observe = (...chunks: (string | Buffer)[]) => {
  const o = new StatusLineObserver()
  let last = o.result
  for (const c of chunks) last = o.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c)
  return last
}

t.test('a status from an HTTP/1.x answer', async (t) => {
  const cases: [string, number][] = [
    ['HTTP/1.1 200 Connection established\r\n\r\n', 200],
    ['HTTP/1.0 200 OK\r\n\r\n', 200],
    ['HTTP/1.1 503 Service Unavailable\r\n', 503],
    ['HTTP/1.1 407 Proxy Authentication Required\r\n', 407],
    ['HTTP/1.1 204\r\n\r\n', 204], // no reason phrase
    ['HTTP/1.1 502\n', 502],
  ]
  for (const [answer, code] of cases) t.same(observe(answer), { kind: 'status', code }, JSON.stringify(answer))
})

t.test('not HTTP, or a bad status line: unknown, at the first byte that shows it', async (t) => {
  const cases: [string | Buffer, RegExp][] = [
    [Buffer.from([0x16, 0x03, 0x03, 0x00, 0x5a]), /not an HTTP\/1.x response/], // TLS: a tunnel's bytes
    ['SSH-2.0-OpenSSH_9.2\r\n', /not an HTTP/],
    ['220 smtp ready\r\n', /not an HTTP/],
    ['HTTP/2 200\r\n', /not an HTTP/],
    ['http/1.1 200 OK\r\n', /not an HTTP/],
    ['HTTP/1.1 20 OK\r\n', /bad status line at byte 11/],
    ['HTTP/1.1 2000 OK\r\n', /bad status line at byte 12/],
    ['HTTP/1.1  200 OK\r\n', /bad status line at byte 9/],
    ['HTTP/1.x 200 OK\r\n', /not an HTTP/],
    ['HTTP/1.1 099 Low\r\n', /status 99 out of range/],
    ['HTTP/1.1 600 High\r\n', /status 600 out of range/],
  ]
  for (const [input, why] of cases) t.match(observe(input), { kind: 'unknown', why }, JSON.stringify(input.toString().slice(0, 20)))
  t.match(observe('XY'), { kind: 'unknown' }, 'decided before 13 bytes')
})

t.test('split across packets: the same outcome at every split and byte by byte', async (t) => {
  const inputs = ['HTTP/1.1 200 Connection established\r\n\r\n', 'HTTP/1.1 503\r\n', 'HTTP/1.1 20 x\r\n', 'SSH-2.0\r\n']
  let mismatches = 0
  for (const input of inputs) {
    const whole = JSON.stringify(observe(input))
    for (let cut = 1; cut < input.length; cut++) if (JSON.stringify(observe(input.slice(0, cut), input.slice(cut))) !== whole) mismatches++
    if (JSON.stringify(observe(...[...input])) !== whole) mismatches++
  }
  t.equal(mismatches, 0)
  t.same(observe('HTTP/1.1 2'), { kind: 'more' }, 'a partial start waits')
})

t.test('a close before the status is unknown; outcomes are final; bytes untouched; bounded', async (t) => {
  const o = new StatusLineObserver()
  o.push(Buffer.from('HTTP/1.1 50'))
  t.match(o.end(), { kind: 'unknown', why: 'closed after 11 bytes' })
  const p = new StatusLineObserver()
  const big = Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\n'), Buffer.alloc(1024 * 1024, 'x')])
  const copy = Buffer.from(big)
  t.same(p.push(big), { kind: 'status', code: 200 })
  t.ok(big.equals(copy), 'the bytes passing to the client are unchanged')
  t.same(p.push(Buffer.from('HTTP/1.1 503\r\n')), { kind: 'status', code: 200 }, 'later bytes are not looked at')
  t.same(p.end(), { kind: 'status', code: 200 }, 'a close after the status changes nothing')
})

t.test('connectVerdict: 2xx success, 5xx failure, 407 only when asked, the rest neutral, unknown never a failure', async (t) => {
  const v = (code: number, count407 = false) => connectVerdict({ kind: 'status', code }, count407)
  t.equal(v(200), 'success')
  t.equal(v(299), 'success')
  t.equal(v(500), 'failure')
  t.equal(v(503), 'failure')
  t.equal(v(407), 'neutral')
  t.equal(v(407, true), 'failure')
  t.equal(v(403), 'neutral')
  t.equal(v(301), 'neutral')
  t.equal(v(101), 'neutral')
  t.equal(connectVerdict({ kind: 'unknown', why: 'x' }, true), 'unknown')
  t.equal(connectVerdict({ kind: 'more' }, true), 'unknown')
})
