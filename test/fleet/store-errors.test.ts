// What an operator reads when the fleet store is not there: `l4lb fleet
// status` and `l4lb run` of a node with no last-known-good file name the
// endpoints and the connection's last error, without gRPC's empty
// "Resolution note: " tail, and `run` labels it a store problem
// (LB_ERR_FLEET_STORE), not an invalid configuration.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import YAML from 'yaml'
import { fleetCli, l4lbCli } from '../helpers/fleet.ts'

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

t.test('fleet status, store unreachable: endpoint and last error, no empty gRPC tail', async (t) => {
  const endpoint = `http://127.0.0.1:${await closedPort()}`
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
  const endpoint = `http://127.0.0.1:${await closedPort()}`
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
