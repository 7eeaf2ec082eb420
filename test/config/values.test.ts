// The scalar parsers, table-driven: what each accepts, what it normalises to,
// and what it rejects (undefined).
import t from 'tap'
import {
  formatDuration, isHost, isLoopback, isPrime, nextPrime, parseCidr, parseDuration, parseHostPort, parseStatusRange, show, suggest,
} from '../../src/config/values.ts'

t.test('durations', async (t) => {
  const ok: [unknown, number][] = [['250ms', 250], ['5s', 5000], ['2m', 120_000], ['1h', 3_600_000], [0, 0], [1500, 1500], ['0s', 0]]
  for (const [raw, ms] of ok) t.equal(parseDuration(raw), ms, JSON.stringify(raw))
  for (const raw of ['5', '5 s', '5sec', '1d', '-1s', '1.5s', '', 's', -1, 1.5, NaN, Infinity, true, null, [], {}, '999999999999h', ' 5s ']) {
    t.equal(parseDuration(raw), undefined, JSON.stringify(raw))
  }
  t.same([0, 250, 5000, 120_000, 3_600_000, 1500].map(formatDuration), ['0ms', '250ms', '5s', '2m', '1h', '1500ms'])
})

t.test('host:port', async (t) => {
  t.same(parseHostPort('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 })
  t.same(parseHostPort('[::1]:0'), { host: '::1', port: 0 })
  t.same(parseHostPort('proxy-1.internal:3128'), { host: 'proxy-1.internal', port: 3128 })
  t.same(parseHostPort('h:99999'), { host: 'h', port: 99999 }, 'range is the caller\'s to check')
  for (const raw of ['1.2.3:80', '::1:80', '[::1]80', '[1.2.3.4]:80', 'host', ':80', 'host:', 'host:123456', 'a b:80', '-a:80', '256.1.1.1:80', 'h:8o']) {
    t.equal(parseHostPort(raw), undefined, raw)
  }
})

t.test('hosts and loopback', async (t) => {
  for (const h of ['127.0.0.1', '::1', 'localhost', 'a.b-c.example', 'x1', 'proxy.']) t.ok(isHost(h), h)
  for (const h of ['', '1.2.3', '999.1.1.1', 'a..b', '-a', 'a_b', '[::1]', 'a'.repeat(64)]) t.notOk(isHost(h), h)
  for (const h of ['127.0.0.1', '127.9.9.9', '::1', 'localhost']) t.ok(isLoopback(h), h)
  for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.internal']) t.notOk(isLoopback(h), h)
})

t.test('CIDRs', async (t) => {
  t.equal(parseCidr('10.0.0.0/8'), '10.0.0.0/8')
  t.equal(parseCidr('10.1.2.3'), '10.1.2.3/32')
  t.equal(parseCidr('fd00::/8'), 'fd00::/8')
  t.equal(parseCidr('::1'), '::1/128')
  t.equal(parseCidr('0.0.0.0/00'), '0.0.0.0/0')
  for (const raw of ['10.0.0.0/33', 'fd00::/129', '10.0.0', 'any', '10.0.0.0/', '10.0.0.0/8/8', '10.0.0.0/-1', '']) t.equal(parseCidr(raw), undefined, raw)
})

t.test('status ranges', async (t) => {
  t.same(parseStatusRange('200-399'), [200, 399])
  t.same(parseStatusRange(204), [204, 204])
  t.same(parseStatusRange('204'), [204, 204])
  for (const raw of ['399-200', 600, '99', '200-600', 'ok', true, null, 200.5]) t.equal(parseStatusRange(raw), undefined, String(raw))
})

t.test('primes', async (t) => {
  t.same([2, 3, 5, 7, 65537, 16_777_213].map(isPrime), [true, true, true, true, true, true])
  t.same([0, 1, 4, 9, 65536, 16_777_216, 2.5, -7].map(isPrime), [false, false, false, false, false, false, false, false])
  t.same([0, 200, 300, 65536].map(nextPrime), [2, 211, 307, 65537])
})

t.test('show and suggest', async (t) => {
  t.same(['x', 5, null, [], {}, true].map(show), ['"x"', '5', 'null', 'a list', 'a mapping', 'true'])
  t.equal(show('a'.repeat(100)).length, 62)
  const keys = ['hash-key', 'policy', 'balance-factor', 'backends']
  t.equal(suggest('hashKey', keys), 'hash-key')
  t.equal(suggest('hash_key', keys), 'hash-key')
  t.equal(suggest('polcy', keys), 'policy')
  t.equal(suggest('backend', keys), 'backends')
  t.equal(suggest('zzz', keys), undefined)
  t.equal(suggest('completely-different', keys), undefined)
  t.equal(suggest('min-retry', ['budget-percent', 'min-retry-concurrency']), 'min-retry-concurrency', 'an unfinished key: the one key it starts')
  t.equal(suggest('balance', keys), 'balance-factor')
  t.equal(suggest('max', ['max-queue', 'maxconn']), undefined, 'too short to say which')
  t.equal(suggest('max-', ['max-queue', 'max-ejection-percent']), undefined, 'two keys start so: no guess')
})
