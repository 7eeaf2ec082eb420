// What /status and `l4lb status` report after a reload is what the node now
// serves: a listener's new port, backends added and removed, a changed policy,
// a new pool behind a listener; after a rejected reload, what still serves.
import t from 'tap'
import type { Io } from '../../src/cli/admin-client.ts'
import { statusCommand } from '../../src/cli/status.ts'
import { startBackend } from '../fixtures/backend.ts'
import { clusterYaml, freePort, startCluster } from '../helpers/cluster.ts'
import { whoServes } from '../helpers/lb.ts'
import { until } from '../helpers/until.ts'
import type { Doc } from '../helpers/config.ts'

async function cliStatus(adminPort: number): Promise<string> {
  let out = ''
  const io: Io = { out: (s) => (out += s), err: (s) => (out += s), env: {} }
  await statusCommand(['--admin', `127.0.0.1:${adminPort}`], io)
  return out
}

t.test('after a reload /status and `l4lb status` show the new port, backends, policy and pools', async (t) => {
  const bes = await Promise.all(['a', 'b', 'c'].map((n) => startBackend(n)))
  t.teardown(() => Promise.all(bes.map((b) => b.close())))
  const spec = { workers: 2, backends: bes.slice(0, 2) }
  const lb = await startCluster(spec)
  t.teardown(() => lb.stop())
  const before = await cliStatus(lb.adminPort)
  t.match(before, new RegExp(`main\\s+127\\.0\\.0\\.1:${lb.port}\\s+pool\\s+UP`))

  // New port; backend a out, c in; policy round-robin; a second pool "extra"
  // (backend c only) that a second listener uses.
  const port2 = await freePort()
  const port3 = await freePort()
  const yaml = clusterYaml({
    ...spec,
    pool: { policy: 'round-robin' },
    backends: bes.slice(1),
    extraListeners: [{ name: 'side', bind: `127.0.0.1:${port3}`, pool: 'extra' }],
    extraPools: [{ name: 'extra', policy: 'ring', backends: [{ id: 'c', host: '127.0.0.1', port: bes[2].port }], health: { type: 'none' } }],
  }, port2, lb.adminPort)
  lb.writeConfig(yaml)
  const r = await lb.admin('POST', '/reload')
  t.equal(r.status, 200, r.body)
  await until('every listener up', async () => (await lb.status()).listeners.every((l) => l.up), { deadlineMs: 5000, intervalMs: 25 })
  const st = await lb.status()
  t.same(
    st.listeners.map((l) => [l.name, l.bind, l.pool]),
    [
      ['main', `127.0.0.1:${port2}`, 'pool'],
      ['side', `127.0.0.1:${port3}`, 'extra'],
    ],
    '/status: listeners with their new binds and pools',
  )
  t.same(
    st.pools.map((p) => [p.name, p.policy, p.backends.map((b) => b.id)]),
    [
      ['pool', 'round-robin', ['b', 'c']],
      ['extra', 'ring', ['c']],
    ],
    '/status: pools, policies, backends added and removed',
  )
  t.equal(st.config.lastError, null)
  t.ok(await whoServes(port2), 'the new port serves')
  t.equal(await whoServes(port3), 'c', 'the new listener serves its own pool')

  const after = await cliStatus(lb.adminPort)
  t.match(after, new RegExp(`main\\s+127\\.0\\.0\\.1:${port2}\\s+pool\\s+UP`), '`l4lb status` shows the new port')
  t.match(after, new RegExp(`side\\s+127\\.0\\.0\\.1:${port3}\\s+extra\\s+UP`))
  t.notMatch(after, new RegExp(`:${lb.port}\\b`), 'and nowhere the old one')
  t.notMatch(after, /^pool\s+a\s/m, 'backend a is gone')
  t.match(after, /^extra\s+c\s/m, 'the new pool is listed')
})

t.test('admin settings: a reload rotates admin.token at once; moving the admin API is rejected whole', async (t) => {
  const be = await startBackend('a')
  t.teardown(() => be.close())
  const spec = { workers: 1, backends: [be] }
  const lb = await startCluster(spec)
  t.teardown(() => lb.stop())
  const withAdmin = (admin: Doc, port = lb.port): string => clusterYaml({ ...spec, top: { admin } }, port, lb.adminPort)
  const get = async (path: string, token?: string): Promise<number> =>
    (await fetch(`http://127.0.0.1:${lb.adminPort}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} })).status
  const reload = async (token?: string): Promise<{ status: number; body: string }> => {
    const res = await fetch(`http://127.0.0.1:${lb.adminPort}/reload`, { method: 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} })
    return { status: res.status, body: await res.text() }
  }

  lb.writeConfig(withAdmin({ token: 'first-token' }))
  t.equal((await reload()).status, 200)
  t.equal(await get('/status'), 401, 'no token: refused once the reload set one')
  t.equal(await get('/status', 'first-token'), 200, 'the new token works')

  lb.writeConfig(withAdmin({ token: 'second-token' }))
  t.equal((await reload('first-token')).status, 200)
  t.equal(await get('/status', 'first-token'), 401, 'the rotated-out token no longer works')
  t.equal(await get('/status', 'second-token'), 200)

  const elsewhere = await freePort()
  lb.writeConfig(withAdmin({ bind: `127.0.0.1:${elsewhere}`, token: 'third-token' }, await freePort()))
  const r = await reload('second-token')
  t.equal(r.status, 422)
  t.match(r.body, new RegExp(`admin\\.bind: the admin API cannot move from 127\\.0\\.0\\.1:${lb.adminPort} to 127\\.0\\.0\\.1:${elsewhere} by a reload`))
  t.equal(await get('/status', 'second-token'), 200, 'nothing of that reload applied: the token is unchanged')
  t.equal(await whoServes(lb.port), 'a', 'and the listener did not move')
})

t.test('a backend that a reload moves to another address does not keep the old address\'s verdict', async (t) => {
  const bes = await Promise.all(['a', 'b'].map((n) => startBackend(n)))
  t.teardown(() => Promise.all(bes.map((b) => b.close())))
  // A long interval: a verdict carried over would stay visible for seconds.
  const spec = { workers: 1, backends: bes, pool: { health: { type: 'tcp', interval: '5s', timeout: '1s', fall: 1, rise: 1, jitter: 0 } } }
  const lb = await startCluster(spec)
  t.teardown(() => lb.stop())
  const healthOf = async (id: string) => (await lb.status()).pools[0].backends.find((b) => b.id === id)!
  await until('both up', async () => (await healthOf('a')).health === 'up' && (await healthOf('b')).health === 'up', { deadlineMs: 15_000, intervalMs: 25 })
  const gone = await freePort() // nothing listens there
  lb.writeConfig(clusterYaml({ ...spec, backend: (b) => (b.name === 'a' ? { port: gone } : {}) }, lb.port, lb.adminPort))
  t.equal((await lb.admin('POST', '/reload')).status, 200)
  const a = await healthOf('a')
  t.equal(a.port, gone, 'the new port is shown')
  t.equal(a.health, 'unknown', 'and not the verdict of the old address')
  t.equal(a.check.result, null, 'nor its last check')
  t.equal((await healthOf('b')).health, 'up', 'an unchanged backend keeps its verdict')
  await until('the new address is checked: down', async () => (await healthOf('a')).health === 'down', { deadlineMs: 15_000, intervalMs: 25 })
})
