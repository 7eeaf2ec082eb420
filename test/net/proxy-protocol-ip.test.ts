// Strict IP literal parsing and RFC 5952 formatting, checked against Node's
// own validators and an independent string-based canonicaliser.
import net from 'node:net'
import t from 'tap'
import fc from 'fast-check'
import { canonicalIPv6, formatIPv6, parseIPv4, parseIPv6 } from '../../src/net/ip.ts'

/** RFC 5952 by string surgery (a different method from the one under test). */
function oracle(g: number[]): string {
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return `::ffff:${g[6] >> 8}.${g[6] & 255}.${g[7] >> 8}.${g[7] & 255}`
  }
  let s = ':' + g.map((x) => x.toString(16)).join(':') + ':'
  for (let len = 8; len >= 2; len--) {
    const pat = ':' + Array(len).fill('0').join(':') + ':'
    const at = s.indexOf(pat)
    if (at >= 0) {
      s = s.slice(0, at) + '::' + s.slice(at + pat.length)
      break
    }
  }
  if (s.startsWith(':') && !s.startsWith('::')) s = s.slice(1)
  if (s.endsWith(':') && !s.endsWith('::')) s = s.slice(0, -1)
  return s
}

t.test('IPv4 table', async (t) => {
  const ok: [string, number][] = [['0.0.0.0', 0], ['255.255.255.255', 0xffffffff], ['10.0.0.1', 0x0a000001]]
  for (const [s, v] of ok) t.equal(parseIPv4(s), v, s)
  for (const s of ['', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.256', '1..2.3', '1.2.3.4 ', 'a.b.c.d', '1.2.3.0004', '-1.2.3.4']) {
    t.equal(parseIPv4(s), -1, JSON.stringify(s))
  }
})

t.test('IPv6 table', async (t) => {
  const ok: [string, string][] = [
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // one zero group is not compressed
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4'],
    ['::ffff:0102:0304', '::ffff:1.2.3.4'],
    ['1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:102:304'],
    ['0000:0000:0000:0000:0000:0000:0000:0001', '::1'],
  ]
  for (const [s, want] of ok) t.equal(canonicalIPv6(s), want, s)
  const bad = [
    '', ':', ':::', '1:::2', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8::', '12345::', 'g::', '::1%eth0',
    '1:2:3:4:5:6:7', ':1::', '1::2:', '1:2:3:4:5:6:7:1.2.3.4', '::01.2.3.4', '::1.2.3', '[::1]', '1.2.3.4',
  ]
  for (const s of bad) t.equal(canonicalIPv6(s), null, JSON.stringify(s))
})

t.test('agrees with node:net on generated and random text', async (t) => {
  const g = new Uint16Array(8)
  fc.assert(
    fc.property(fc.oneof(fc.ipV6(), fc.stringMatching(/^[0-9a-fA-F:.]{0,20}$/)), (s) => {
      return parseIPv6(s, g) === net.isIPv6(s)
    }),
    { numRuns: 20000 },
  )
  fc.assert(
    fc.property(fc.oneof(fc.ipV4(), fc.stringMatching(/^[0-9.]{0,16}$/)), (s) => {
      return parseIPv4(s) >= 0 === net.isIPv4(s)
    }),
    { numRuns: 20000 },
  )
  t.pass('no disagreement')
})

t.test('formatting matches the oracle and parses back', async (t) => {
  // groups biased towards zero so that runs of zeros (and ties) are common
  const group = fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff }))
  const back = new Uint16Array(8)
  fc.assert(
    fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (arr) => {
      const text = formatIPv6(Uint16Array.from(arr))
      if (text !== oracle(arr)) return false
      return parseIPv6(text, back) && Array.from(back).every((x, i) => x === arr[i]) && net.isIPv6(text)
    }),
    { numRuns: 20000 },
  )
  t.pass('formatting holds')
})
