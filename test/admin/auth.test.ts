// The authentication rule as pure functions: loopback detection, when a token
// is required, when a config must be refused, and the bearer check.
import t from 'tap'
import { adminAuthProblem, authorized, isLoopback, requiredToken } from '../../src/admin/auth.ts'
import type { AdminConfig } from '../../src/config/types.ts'

const cfg = (host: string, token: string | null): AdminConfig => ({ enabled: true, bind: { host, port: 9090 }, token })

t.test('isLoopback', async (t) => {
  const cases: [string, boolean][] = [
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['LOCALHOST', true],
    ['::1', true],
    ['0:0:0:0:0:0:0:1', true],
    ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false],
    ['::', false],
    ['10.0.0.1', false],
    ['128.0.0.1', false],
    ['::ffff:10.0.0.1', false],
    ['example.com', false],
    ['127.example.com', false],
  ]
  for (const [host, want] of cases) t.equal(isLoopback(host), want, host)
})

t.test('token required off loopback; a configured token is enforced anywhere', async (t) => {
  t.equal(adminAuthProblem(cfg('127.0.0.1', null)), null, 'loopback, no token: ok')
  t.equal(adminAuthProblem(cfg('127.0.0.1', 's3cret')), null, 'loopback with token: ok')
  t.match(adminAuthProblem(cfg('0.0.0.0', null)), /admin\.token is required/, 'wildcard, no token: refused')
  t.match(adminAuthProblem(cfg('10.1.2.3', '')), /admin\.token is required/, 'empty token counts as none')
  t.match(adminAuthProblem(cfg('::', null)), /token is required/)
  t.equal(adminAuthProblem(cfg('10.1.2.3', 's3cret')), null, 'elsewhere with token: ok')
  t.equal(requiredToken(cfg('127.0.0.1', null)), null)
  t.equal(requiredToken(cfg('127.0.0.1', '')), null)
  t.equal(requiredToken(cfg('127.0.0.1', 'x')), 'x')
})

t.test('authorized', async (t) => {
  t.ok(authorized(undefined, null), 'open when no token')
  t.ok(authorized('Bearer whatever', null), 'open ignores a header')
  t.ok(authorized('Bearer s3cret', 's3cret'))
  t.ok(authorized('bearer s3cret', 's3cret'), 'scheme is case-insensitive')
  t.ok(authorized('Bearer   s3cret ', 's3cret'), 'extra blanks tolerated')
  t.notOk(authorized(undefined, 's3cret'), 'missing header')
  t.notOk(authorized('', 's3cret'), 'empty header')
  t.notOk(authorized('Bearer s3cre', 's3cret'), 'prefix of the token')
  t.notOk(authorized('Bearer s3crett', 's3cret'), 'longer token')
  t.notOk(authorized('Bearer S3CRET', 's3cret'), 'token is case-sensitive')
  t.notOk(authorized('Basic s3cret', 's3cret'), 'wrong scheme')
  t.notOk(authorized('s3cret', 's3cret'), 'no scheme')
  t.notOk(authorized('Bearer s3cret extra', 's3cret'), 'trailing junk')
})
