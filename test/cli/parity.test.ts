// CLI parity with the admin API against a REAL running l4lb (primary + 1
// worker, fixture backends): `backend ID ready|drain|maint`, `weight ID N`,
// `status --json`, their exit codes, and that a change is what traffic sees.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import http from 'node:http'
import { fileURLToPath } from 'node:url'
import { backendCommand, weightCommand } from '../../src/cli/backend.ts'
import { statusCommand } from '../../src/cli/status.ts'
import type { Io } from '../../src/cli/admin-client.ts'
import { startBackend } from '../fixtures/backend.ts'
import { startCluster, type RunningCluster } from '../helpers/cluster.ts'
import { whoServes } from '../helpers/lb.ts'
import { until } from '../helpers/until.ts'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

function io(): Io & { stdout: string; stderr: string } {
  const o = {
    stdout: '',
    stderr: '',
    env: {},
    out: (s: string) => void (o.stdout += s + '\n'),
    err: (s: string) => void (o.stderr += s + '\n'),
  }
  return o
}

async function backendOf(c: RunningCluster, id: string) {
  const doc = await c.status()
  return doc.pools[0].backends.find((b) => b.id === id)!
}

/** Names that answer 12 connections from 127.0.0.1..12 (maglev on the source address). */
async function servers(port: number): Promise<Set<string>> {
  const names = new Set<string>()
  for (let i = 1; i <= 12; i++) names.add(await whoServes(port, `127.0.0.${i}`, 3000))
  return names
}

t.test('backend, weight and status --json on a running cluster', async (t) => {
  const a = await startBackend('a')
  const b = await startBackend('b')
  t.teardown(() => Promise.all([a.close(), b.close()]))
  const c = await startCluster({ workers: 1, backends: [a, b] })
  t.teardown(() => c.stop())
  const admin = `--admin=127.0.0.1:${c.adminPort}`
  await until('both backends serve at first', async () => (await servers(c.port)).size === 2, { deadlineMs: 10_000, intervalMs: 25 })

  let o = io()
  t.equal(await backendCommand(['a', 'maint', admin], o), 0, o.stderr)
  t.equal(o.stdout, 'backend a in maintenance: takes nothing new, hidden from check verdicts\n')
  t.match(await backendOf(c, 'a'), { adminState: 'maint', state: 'maint' })
  await until('new flows only to b', async () => [...(await servers(c.port))].join() === 'b', { deadlineMs: 10_000, intervalMs: 25 })

  o = io()
  t.equal(await backendCommand([admin, 'a', 'drain'], o), 0, o.stderr)
  t.match(await backendOf(c, 'a'), { adminState: 'drain' })
  o = io()
  t.equal(await backendCommand(['a', 'ready', admin], o), 0, o.stderr)
  t.match(o.stdout, /^backend a ready: takes new connections/)
  t.match(await backendOf(c, 'a'), { adminState: 'ready' })
  await until('a takes flows again', async () => (await servers(c.port)).size === 2, { deadlineMs: 10_000, intervalMs: 25 })

  o = io()
  t.equal(await weightCommand(['b', '3', admin, '--pool', 'pool'], o), 0, o.stderr)
  t.equal(o.stdout, 'backend b (pool pool) weight 3\n')
  t.equal((await backendOf(c, 'b')).weight, 3)
  o = io()
  t.equal(await weightCommand(['b', '0', admin], o), 0, o.stderr)
  t.equal((await backendOf(c, 'b')).weight, 0)
  await until('weight 0: no new flows to b', async () => [...(await servers(c.port))].join() === 'a', { deadlineMs: 10_000, intervalMs: 25 })

  o = io()
  t.equal(await weightCommand(['b', '300', admin], o), 1, 'out of range: refused by the API')
  t.equal(o.stderr, 'backend b weight 300: weight must be an integer 0..256\n')
  t.equal((await backendOf(c, 'b')).weight, 0, 'unchanged')

  o = io()
  t.equal(await statusCommand(['--json', admin], o), 0, o.stderr)
  const doc = JSON.parse(o.stdout)
  t.same(doc.pools[0].backends.map((x: { id: string; adminState: string; weight: number }) => [x.id, x.adminState, x.weight]), [['a', 'ready', 1], ['b', 'ready', 0]])
  t.equal(doc.pid, c.child.pid, 'the document of this cluster')
})

t.test('exit codes: refused 1, usage 2 (nothing sent)', async (t) => {
  const a = await startBackend('a')
  t.teardown(() => a.close())
  const c = await startCluster({ workers: 1, backends: [a] })
  t.teardown(() => c.stop())
  const admin = `--admin=127.0.0.1:${c.adminPort}`
  const cases: [(argv: string[], io: Io) => Promise<number>, string[], number, RegExp][] = [
    [backendCommand, ['nope', 'drain', admin], 1, /^backend nope drain: no backend "nope"/],
    [backendCommand, ['a', 'down', admin], 2, /^unknown state "down": expected ready, drain or maint\nusage: l4lb backend/],
    [backendCommand, ['a', admin], 2, /^missing state \(ready, drain or maint\)/],
    [backendCommand, [admin], 2, /^missing backend ID/],
    [backendCommand, ['a', 'ready', 'x', admin], 2, /^unexpected argument x/],
    [weightCommand, ['a', 'x', admin], 2, /^weight "x" is not a non-negative integer/],
    [weightCommand, ['a', '1.5', admin], 2, /^weight "1\.5" is not a non-negative integer/],
    [weightCommand, ['a', admin], 2, /^missing weight N/],
    [weightCommand, ['a', '2', '--bogus', admin], 2, /^unknown option --bogus/],
    [weightCommand, ['nope', '2', admin], 1, /^backend nope weight 2: no backend "nope"/],
  ]
  for (const [cmd, argv, code, text] of cases) {
    const o = io()
    t.equal(await cmd(argv, o), code, argv.join(' '))
    t.match(o.stderr, text, argv.join(' '))
    t.equal(o.stdout, '')
  }
  t.match(await backendOf(c, 'a'), { adminState: 'ready', weight: 1 }, 'no refused or malformed command changed anything')

  // The same through the real binary: exit status and streams.
  const bin = (argv: string[]) => spawnSync(process.execPath, [MAIN, ...argv], { encoding: 'utf8', timeout: 20_000 })
  let r = bin(['backend', 'a', 'drain', admin])
  t.same([r.status, r.stdout, r.stderr], [0, 'backend a draining: no new connections, established ones continue\n', ''])
  r = bin(['weight', 'a', '7', admin])
  t.same([r.status, r.stdout, r.stderr], [0, 'backend a weight 7\n', ''])
  r = bin(['weight', 'nope', '7', admin])
  t.same([r.status, r.stdout, r.stderr], [1, '', 'backend nope weight 7: no backend "nope"\n'])
  r = bin(['backend', 'a', 'sleep', admin])
  t.equal(r.status, 2)
  t.match(await backendOf(c, 'a'), { adminState: 'drain', weight: 7 })
})

t.test('the admin API on a port fetch() refuses (WHATWG bad ports) is still reachable', async (t) => {
  // An HTTP stand-in for /status on the first free one of these ports.
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ path: req.url }))
  })
  let port = 0
  for (const p of [6000, 6665, 6666, 6667, 6668, 6669, 10080, 6566]) {
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false))
      server.listen(p, '127.0.0.1', () => resolve(true))
    })
    if (ok) {
      port = p
      break
    }
  }
  if (port === 0) return t.fail('none of the bad ports is free on 127.0.0.1')
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const o = io()
  t.equal(await statusCommand(['--json', `--admin=127.0.0.1:${port}`], o), 0, o.stderr)
  t.same(JSON.parse(o.stdout), { path: '/status' })
})
