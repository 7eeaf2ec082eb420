// What an operator reads when the fleet store is not there: `l4lb fleet
// status` and `l4lb run` of a node with no last-known-good file name the
// endpoints and the connection's last error, without gRPC's empty
// "Resolution note: " tail, and `run` labels it a store problem
// (LB_ERR_FLEET_STORE), not an invalid configuration. A failed write is
// reported as "not written" only when it certainly was not (no member
// reached, or refused): one a member took but could not confirm may still be
// committed (writeOutcome, on the real errors of a real etcd).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import YAML from 'yaml'
import { fleetCli, l4lbCli } from '../helpers/fleet.ts'
import { refusedPort } from '../fixtures/backend.ts'
import { startEtcd } from '../helpers/etcd.ts'
import { fleetClient, writeOutcome } from '../../src/fleet/store.ts'

t.test('fleet status, store unreachable: endpoint and last error, no empty gRPC tail', async (t) => {
  const endpoint = `http://127.0.0.1:${await refusedPort()}`
  const r = await fleetCli(['status', '--endpoints', endpoint])
  t.equal(r.code, 1)
  t.match(r.stderr, `store unreachable (LB_ERR_FLEET_STORE, ${endpoint})`)
  t.match(r.stderr, /No connection established\. Last error: connect ECONNREFUSED/)
  t.notMatch(r.stderr, /Resolution note/)
  t.notMatch(r.stderr, /Error: Error:|Last error: Error:/)
})

t.test('run of a fleet node, store unreachable and no last-known-good: a store code, not "config invalid"', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'l4lb-store-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const endpoint = `http://127.0.0.1:${await refusedPort()}`
  const file = join(dir, 'node.yaml')
  writeFileSync(file, YAML.stringify({ workers: 1, listeners: [{ name: 'main', bind: '127.0.0.1:0', pool: 'web' }], admin: { enabled: false }, fleet: { endpoints: [endpoint], node: 'lb-a', 'state-file': join(dir, 'lkg.yaml') } }))
  const r = await l4lbCli(['run', '-c', file], 30_000)
  t.equal(r.code, 1)
  t.match(r.stderr, /cannot start the fleet node \(LB_ERR_FLEET_STORE\)/)
  t.notMatch(r.stderr, /LB_ERR_CONFIG_INVALID/)
  t.match(r.stderr, `fleet store unreachable (${endpoint})`)
  t.match(r.stderr, /No connection established/)
  t.notMatch(r.stderr, /Resolution note/)
  t.match(r.stderr, /no last-known-good fleet config/)
})

t.test('writeOutcome on real store errors: refused or never sent is not-written; a member that went silent is unknown', async (t) => {
  const store = (endpoint: string) => fleetClient({ endpoints: [endpoint], tls: null, auth: null })
  const fail = (p: Promise<unknown>) => p.then(() => new Error('succeeded'), (e: unknown) => e as Error)

  const refused = store(`http://127.0.0.1:${await refusedPort()}`)
  t.teardown(() => refused.close())
  const e1 = await fail(refused.put('/k').value('v').exec())
  t.equal(writeOutcome(e1), 'not-written', `no member reached: ${e1.message.split('\n')[0]}`)

  const etcd = await startEtcd()
  t.teardown(() => etcd.destroy())
  const big = store(etcd.endpoint)
  t.teardown(() => big.close())
  const e2 = await fail(big.put('/k').value('x'.repeat(2 * 1024 * 1024)).exec())
  t.equal(writeOutcome(e2), 'not-written', `refused by etcd: ${e2.message.split('\n')[0]}`)
  const e2b = await fail(big.put('/k').value('x'.repeat(2 * 1024 * 1024)).exec())
  t.equal(writeOutcome(e2b), 'not-written', `refused again, or not sent at all: ${e2b.message.split('\n')[0]}`)

  const c = store(etcd.endpoint)
  t.teardown(() => c.close())
  await c.put('/k').value('v').exec()

  const pid = etcd.pid()!
  process.kill(pid, 'SIGSTOP')
  try {
    const e3 = await fail(c.put('/k').value('w').exec())
    t.equal(writeOutcome(e3), 'unknown', `taken, never answered: ${e3.message.split('\n')[0]}`)
  } finally {
    process.kill(pid, 'SIGCONT')
  }
})
