// `l4lb status|reload|drain` against a real admin server on port 0 (fake
// model): output, exit codes, token handling, flags, unreachable API.
import t from 'tap'
import { statusCommand } from '../../src/cli/status.ts'
import { reloadCommand } from '../../src/cli/reload.ts'
import { drainCommand } from '../../src/cli/drain.ts'
import { parseAdminArgs, parseHostPort, type Io } from '../../src/cli/admin-client.ts'
import { fakeModel } from './fake-model.ts'
import { startTestServer } from './helpers.ts'
import { refusedPort } from '../fixtures/backend.ts'

function io(env: Record<string, string> = {}): Io & { stdout: string; stderr: string } {
  const o = {
    stdout: '',
    stderr: '',
    env,
    out: (s: string) => void (o.stdout += s + '\n'),
    err: (s: string) => void (o.stderr += s + '\n'),
  }
  return o
}

t.test('flag parsing', async (t) => {
  t.same(parseHostPort('127.0.0.1:9090'), { host: '127.0.0.1', port: 9090 })
  t.same(parseHostPort('[::1]:80'), { host: '::1', port: 80 })
  t.same(parseHostPort('localhost:1'), { host: 'localhost', port: 1 })
  for (const bad of ['127.0.0.1', ':9090', '::1:80', 'h:0', 'h:65536', 'h:x', '']) t.equal(parseHostPort(bad), null, bad)
  const p = parseAdminArgs(['x', '--admin=127.0.0.2:1', '--pool', 'web', '--json'], { flags: ['json'], options: ['pool'] }, {})
  t.same(p, {
    target: { host: '127.0.0.2', port: 1, token: null },
    flags: new Set(['json']),
    options: new Map([['pool', 'web']]),
    positional: ['x'],
  })
  const d = parseAdminArgs([], {}, { L4LB_ADMIN_TOKEN: 'envtok' })
  t.match(d, { target: { host: '127.0.0.1', port: 9090, token: 'envtok' } }, 'defaults and env token')
  t.match(parseAdminArgs(['--token', 'flag'], {}, { L4LB_ADMIN_TOKEN: 'envtok' }), { target: { token: 'flag' } }, '--token wins')
  t.equal(parseAdminArgs(['--bogus'], {}, {}), 'unknown option --bogus')
  t.equal(parseAdminArgs(['--json'], {}, {}), 'unknown option --json', 'flag not known to this command')
  t.equal(parseAdminArgs(['--admin'], {}, {}), '--admin needs a value')
  t.match(parseAdminArgs(['--admin', 'nope'], {}, {}), /expected HOST:PORT/)
  t.match(parseAdminArgs(['--', '--pool'], { options: ['pool'] }, {}), { positional: ['--pool'] })
})

t.test('status: table and --json', async (t) => {
  const m = fakeModel()
  const { server } = await startTestServer(t, m)
  const admin = `--admin=127.0.0.1:${server.port}`
  let o = io()
  t.equal(await statusCommand([admin], o), 0)
  t.equal(o.stderr, '')
  t.match(o.stdout, /^l4lb 0\.1\.0-test .*workers 2\/2/)
  t.match(o.stdout, /^LISTENER\s+BIND\s+POOL\s+STATE\s+ACTIVE\s+ACCEPTED$/m)
  t.match(o.stdout, /^main\s+127\.0\.0\.1:8080\s+web\s+UP\s+4\s+108$/m)
  t.match(o.stdout, /^web\s+10\.0\.0\.1:3128\s+READY\s+1\s+3\s+100\s+OK L4OK 1\.5ms\s+2s$/m)
  t.match(o.stdout, /^alt\s+shared\s+DRAIN\s/m)
  t.equal(o.stdout.match(/^(web|alt)\s/gm)?.length, 4, 'one row per backend')

  m.backends[1].health = 'down'
  m.lastError = { at: Date.now(), errors: ['pools[0].policy: unknown policy "x"'] }
  o = io()
  t.equal(await statusCommand([admin], o), 0)
  t.match(o.stdout, /^web\s+a\s+DOWN\s+2\s+0\s+7\s+FAIL connect ECONNREFUSED/m)
  t.match(o.stdout, /last reload REJECTED at .*\n {2}pools\[0\]\.policy: unknown policy "x"/)

  o = io()
  t.equal(await statusCommand([admin, '--json'], o), 0)
  const doc = JSON.parse(o.stdout)
  t.equal(doc.pools[0].backends[1].state, 'down')
})

t.test('token: from --token or L4LB_ADMIN_TOKEN; refused without', async (t) => {
  const m = fakeModel()
  const { server } = await startTestServer(t, m, 'tok')
  const admin = `--admin=127.0.0.1:${server.port}`
  let o = io()
  t.equal(await statusCommand([admin], o), 1)
  t.match(o.stderr, /--token or L4LB_ADMIN_TOKEN/)
  o = io()
  t.equal(await statusCommand([admin, '--token', 'tok'], o), 0)
  o = io({ L4LB_ADMIN_TOKEN: 'tok' })
  t.equal(await drainCommand(['a', admin], o), 0)
  o = io({ L4LB_ADMIN_TOKEN: 'wrong' })
  t.equal(await reloadCommand([admin], o), 1)
  t.same(m.calls, ['state a drain -'])
})

t.test('drain ID [--pool P]', async (t) => {
  const m = fakeModel()
  const { server } = await startTestServer(t, m)
  const admin = `--admin=127.0.0.1:${server.port}`
  let o = io()
  t.equal(await drainCommand([admin, '10.0.0.1:3128'], o), 0)
  t.match(o.stdout, /backend 10\.0\.0\.1:3128 draining/)
  t.equal(m.backends[0].adminState, 'drain')
  o = io()
  t.equal(await drainCommand(['shared', admin], o), 1, 'ambiguous')
  t.match(o.stderr, /several pools: add \?pool=/)
  o = io()
  t.equal(await drainCommand(['shared', '--pool', 'web', admin], o), 0)
  t.equal(m.backends[2].adminState, 'drain')
  t.equal(m.backends[3].adminState, 'drain')
  o = io()
  t.equal(await drainCommand(['nope', admin], o), 1)
  t.match(o.stderr, /^backend nope drain: no backend "nope"/)
  o = io()
  t.equal(await drainCommand([admin], o), 2, 'missing ID')
  t.match(o.stderr, /missing backend ID\nusage:/)
  o = io()
  t.equal(await drainCommand(['a', 'b', admin], o), 2)
  t.same(m.calls, ['state 10.0.0.1:3128 drain -', 'state shared drain -', 'state shared drain web', 'state nope drain -'])
})

t.test('reload: applied, or rejected with every error and exit 1', async (t) => {
  const m = fakeModel()
  const { server } = await startTestServer(t, m)
  const admin = `--admin=127.0.0.1:${server.port}`
  let o = io()
  t.equal(await reloadCommand([admin], o), 0)
  t.match(o.stdout, /reload applied/)
  m.reloadErrors = ['listeners[0].bind: port in use', 'pools[1].backends: empty']
  o = io()
  t.equal(await reloadCommand([admin], o), 1)
  t.equal(o.stderr, 'reload rejected; the previous config keeps serving:\n  listeners[0].bind: port in use\n  pools[1].backends: empty\n')
  o = io()
  t.equal(await reloadCommand([admin, 'extra'], o), 2)
})

t.test('unreachable API: exit 1 with one clear line', async (t) => {
  const port = await refusedPort()
  for (const cmd of [statusCommand, reloadCommand, (a: string[], i: Io) => drainCommand(['x', ...a], i)]) {
    const o = io()
    t.equal(await cmd([`--admin=127.0.0.1:${port}`], o), 1)
    t.match(o.stderr, new RegExp(`^cannot reach the admin API at http://127\\.0\\.0\\.1:${port}: ECONNREFUSED\\n$`))
  }
  const o = io()
  t.equal(await statusCommand(['--help'], o), 0)
  t.match(o.stdout, /^usage: l4lb status/)
})
