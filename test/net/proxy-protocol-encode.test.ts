// Golden bytes for the PROXY protocol encoders (v1 text, v2 binary) and the
// fixed v2 LOCAL header used by health checks.
import t from 'tap'
import { encodeProxyV1, encodeProxyV2, PROXY_V1_UNKNOWN, PROXY_V2_LOCAL } from '../../src/net/proxy-protocol/encode.ts'

const SIG = '0d0a0d0a000d0a515549540a'

t.test('v1 golden lines', async (t) => {
  const cases: [string, number, string, number, string][] = [
    ['192.168.0.1', 56324, '192.168.0.11', 443, 'PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n'],
    ['0.0.0.0', 0, '255.255.255.255', 65535, 'PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n'],
    ['2001:db8::1', 5, '::1', 443, 'PROXY TCP6 2001:db8::1 ::1 5 443\r\n'],
    ['2001:DB8:0:0:0:0:0:1', 5, '0::1', 443, 'PROXY TCP6 2001:db8::1 ::1 5 443\r\n'], // canonical text
    ['::ffff:10.1.2.3', 1000, '::ffff:127.0.0.1', 80, 'PROXY TCP4 10.1.2.3 127.0.0.1 1000 80\r\n'], // mapped -> TCP4
    ['::ffff:10.1.2.3', 1000, '127.0.0.1', 80, 'PROXY TCP4 10.1.2.3 127.0.0.1 1000 80\r\n'],
    ['fe80::1%eth0', 1, 'fe80::2%eth0', 2, 'PROXY TCP6 fe80::1 fe80::2 1 2\r\n'], // scope id dropped
    ['10.0.0.1', 1, '2001:db8::1', 2, 'PROXY UNKNOWN\r\n'], // families differ
    ['not-an-ip', 1, '10.0.0.1', 2, 'PROXY UNKNOWN\r\n'],
    ['10.0.0.1', 65536, '10.0.0.2', 2, 'PROXY UNKNOWN\r\n'],
    ['10.0.0.1', 1.5, '10.0.0.2', 2, 'PROXY UNKNOWN\r\n'],
  ]
  for (const [src, sp, dst, dp, want] of cases) {
    t.equal(encodeProxyV1(src, sp, dst, dp).toString('latin1'), want, `${src} ${dst}`)
  }
  const longest = encodeProxyV1(
    'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 65535, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 65535)
  t.equal(longest.length, 104, 'the longest TCP6 line fits the 107-byte limit')
})

t.test('v2 golden bytes', async (t) => {
  t.equal(
    encodeProxyV2('1.2.3.4', 5, '10.0.0.1', 443).toString('hex'),
    `${SIG}2111000c` + '01020304' + '0a000001' + '0005' + '01bb',
  )
  t.equal(
    encodeProxyV2('::ffff:1.2.3.4', 5, '::ffff:10.0.0.1', 443).toString('hex'),
    `${SIG}2111000c` + '01020304' + '0a000001' + '0005' + '01bb',
    'mapped addresses are sent as AF_INET',
  )
  t.equal(
    encodeProxyV2('2001:db8::1', 5, '::1', 443).toString('hex'),
    `${SIG}21210024` + '20010db8000000000000000000000001' + '00000000000000000000000000000001' + '0005' + '01bb',
  )
  t.equal(encodeProxyV2('10.0.0.1', 1, '::1', 2).toString('hex'), `${SIG}21000000`, 'families differ: PROXY + AF_UNSPEC')
  t.equal(encodeProxyV2('10.0.0.1', -1, '10.0.0.2', 2).toString('hex'), `${SIG}21000000`, 'bad port: AF_UNSPEC')
})

t.test('PROXY_V2_LOCAL and PROXY_V1_UNKNOWN', async (t) => {
  t.equal(PROXY_V1_UNKNOWN.toString('latin1'), 'PROXY UNKNOWN\r\n')
  t.equal(PROXY_V2_LOCAL.length, 16)
  t.equal(PROXY_V2_LOCAL.toString('hex'), `${SIG}20000000`)
})
