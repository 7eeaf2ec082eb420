// Trusted-source CIDR matching: table cases, IPv4-mapped clients, compile-time
// errors naming the entry, and a property check against a BigInt oracle.
import t from 'tap'
import fc from 'fast-check'
import { compileCidrs, isValidCidr } from '../../src/proxy/cidr.ts'
import { parseIPv4, parseIPv6 } from '../../src/net/ip.ts'

t.test('table', async (t) => {
  const m = compileCidrs(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', '172.16.0.1/12'])
  const cases: [string, boolean][] = [
    ['10.0.0.1', true],
    ['10.255.255.255', true],
    ['11.0.0.0', false],
    ['9.255.255.255', false],
    ['192.168.1.7', true],
    ['192.168.1.8', false],
    ['::ffff:10.1.2.3', true], // IPv4-mapped client against an IPv4 CIDR
    ['::ffff:a01:203', true],
    ['::ffff:11.1.2.3', false],
    ['2001:db8:ffff::1', true],
    ['2001:db9::1', false],
    ['172.31.255.255', true], // host bits in the entry are ignored
    ['172.32.0.0', false],
    ['not an address', false],
    ['', false],
    ['10.0.0.01', false],
  ]
  for (const [addr, want] of cases) t.equal(m(addr), want, addr)
  t.equal(compileCidrs([])('127.0.0.1'), false, 'empty list trusts no one')
  t.equal(compileCidrs(['0.0.0.0/0'])('203.0.113.9'), true)
  t.equal(compileCidrs(['0.0.0.0/0'])('2001:db8::1'), false, 'IPv4 /0 is not all of IPv6')
  t.equal(compileCidrs(['::/0'])('203.0.113.9'), true, '::/0 covers IPv4 too')
  t.equal(compileCidrs(['::1/128'])('::1'), true)
  t.equal(compileCidrs(['fe80::/10'])('fe80::1%eth0'), true, 'scope id ignored on the client')
  t.equal(compileCidrs(['127.0.0.1/32'])('127.0.0.1'), true)
  t.equal(compileCidrs(['fe80::%eth0/10'])('fe80::1'), true, 'scope id ignored on the entry')
})

t.test('invalid entries throw at compile time, naming the entry', async (t) => {
  for (const bad of ['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/08', '10.0.0/8', '::/129', 'fe80::%/10', 'localhost', '10.0.0.0/8 ', '/8', '1.2.3.4/-1']) {
    t.equal(isValidCidr(bad), false, bad)
    t.throws(() => compileCidrs(['127.0.0.1/8', bad]), { message: new RegExp(`"${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}" \\(entry 1\\)`) })
  }
  for (const good of ['10.0.0.0/8', '0.0.0.0/0', '1.2.3.4', '::/0', '::1', '2001:db8::/32', '::ffff:10.0.0.0/104', 'fe80::%eth0/10']) {
    t.equal(isValidCidr(good), true, good)
  }
})

/** 128-bit value of an address (IPv4 as ::ffff:a.b.c.d), by a route independent of cidr.ts. */
function big(addr: string): bigint {
  const v4 = parseIPv4(addr)
  if (v4 >= 0) return (0xffffn << 32n) | BigInt(v4)
  const g = new Uint16Array(8)
  if (!parseIPv6(addr, g)) throw new Error(addr)
  return g.reduce((acc, x) => (acc << 16n) | BigInt(x), 0n)
}

t.test('agrees with a BigInt oracle', async (t) => {
  const v4cidr = fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([a, n]) => ({ text: `${a}/${n}`, net: big(a), bits: 96 + n }))
  const v6cidr = fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })).map(([a, n]) => ({ text: `${a}/${n}`, net: big(a), bits: n }))
  const client = fc.oneof(fc.ipV4(), fc.ipV6())
  fc.assert(
    fc.property(fc.array(fc.oneof(v4cidr, v6cidr), { maxLength: 5 }), fc.array(client, { minLength: 1, maxLength: 10 }), (cidrs, clients) => {
      const m = compileCidrs(cidrs.map((c) => c.text))
      for (const c of clients) {
        const a = big(c)
        const want = cidrs.some(({ net, bits }) => bits === 0 || (a >> BigInt(128 - bits)) === (net >> BigInt(128 - bits)))
        if (m(c) !== want) return false
      }
      return true
    }),
    { numRuns: 3000 },
  )
  // near misses: clients inside and just outside a random IPv4 network
  fc.assert(
    fc.property(fc.ipV4(), fc.integer({ min: 1, max: 32 }), (a, n) => {
      const m = compileCidrs([`${a}/${n}`])
      const base = parseIPv4(a) & ~(2 ** (32 - n) - 1) >>> 0
      const fmt = (v: number): string => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.')
      const last = (base >>> 0) + 2 ** (32 - n) - 1
      const inside = m(fmt(base >>> 0)) && m(fmt(last)) && m(`::ffff:${fmt(last)}`)
      const below = base >>> 0 === 0 || !m(fmt((base >>> 0) - 1))
      const above = last === 0xffffffff || !m(fmt(last + 1))
      return inside && below && above
    }),
    { numRuns: 3000 },
  )
  t.pass('matches the oracle')
})
