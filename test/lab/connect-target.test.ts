// The lab proxy's CONNECT target and allow-list (lab/node/connect-target.ts): a target outside
// the lab's networks must be refused, so a drill's tunnel can never leave the lab.
import t from 'tap'
import { splitAuthority, parseCidrs, allowed } from '../../lab/node/connect-target.ts'

t.test('authority-form targets', async (t) => {
  t.same(splitAuthority('site07:80'), { host: 'site07', port: 80 })
  t.same(splitAuthority('198.18.3.50:80'), { host: '198.18.3.50', port: 80 })
  t.same(splitAuthority('[::1]:443'), { host: '::1', port: 443 })
  for (const bad of ['site07', 'site07:', ':80', 'a b:80', 'x:0', 'x:65536', 'http://x:80', 'x:80/path']) t.equal(splitAuthority(bad), null, bad)
})

t.test('allow-list: the lab networks only', async (t) => {
  const lab = parseCidrs('198.18.0.0/24, 198.18.3.0/24')
  t.ok(allowed('198.18.3.50', lab))
  t.ok(allowed('198.18.0.255', lab))
  t.notOk(allowed('198.18.1.11', lab), 'another lab /24 not in the list')
  t.notOk(allowed('198.18.100.1', lab))
  t.notOk(allowed('8.8.8.8', lab))
  t.notOk(allowed('::1', lab))
  t.ok(allowed('198.19.255.255', parseCidrs('198.18.0.0/15')))
  t.notOk(allowed('198.20.0.0', parseCidrs('198.18.0.0/15')))
  t.ok(allowed('198.18.3.7', parseCidrs('198.18.3.9/24')), 'host bits in the base are ignored')
  t.throws(() => parseCidrs('198.18.0.0/33'))
  t.throws(() => parseCidrs('example/8'))
})
