// `engine: native` is a requirement, not a wish: where the native engine cannot
// run, `check` fails naming the key, `run` refuses to start, and a reload to it
// is rejected while the running config serves on. `auto` falls back and says so.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { startBackend } from '../fixtures/backend.ts'
import { clusterYaml, startCluster } from '../helpers/cluster.ts'
import { configYaml } from '../helpers/config.ts'
import { whoServes } from '../helpers/lb.ts'

const MAIN = path.resolve(import.meta.dirname, '../../src/cli/main.ts')
const dir = mkdtempSync(path.join(os.tmpdir(), 'l4lb-engine-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
// An addon path that does not exist: the native engine is unavailable in every process started here.
const NO_ADDON = path.join(dir, 'missing', 'l4lb_pump.node')
const env = { ...process.env, L4LB_NATIVE_ADDON: NO_ADDON, L4LB_ENGINE: '' }
const UNAVAILABLE = /engine: "native" is set but the native engine is unavailable: not built \(.*missing\)/

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { env, encoding: 'utf8', timeout: 30_000 })
  return { code: r.status, out: r.stdout + r.stderr }
}

function file(name: string, engine: string): string {
  const f = path.join(dir, name)
  writeFileSync(f, configYaml([{ name: 'a', port: 9 }], { top: { engine } }))
  return f
}

t.test('check: engine native fails with the reason, auto passes and says it runs JavaScript', async (t) => {
  const native = cli(['check', '-c', file('native.yaml', 'native')])
  t.equal(native.code, 1, 'exit 1')
  t.match(native.out, UNAVAILABLE)
  const auto = cli(['check', '-c', file('auto.yaml', 'auto')])
  t.equal(auto.code, 0, 'auto: exit 0')
  t.match(auto.out, /engine: auto -> js \(native engine unavailable: not built/)
})

t.test('run: engine native refuses to start', async (t) => {
  const r = cli(['run', '-c', file('run-native.yaml', 'native')])
  t.equal(r.code, 1, 'exit 1 at once')
  t.match(r.out, /invalid configuration \(LB_ERR_CONFIG_INVALID\)/)
  t.match(r.out, UNAVAILABLE)
})

t.test('reload to engine native: 422, the running config serves on', async (t) => {
  const saved = process.env.L4LB_NATIVE_ADDON
  process.env.L4LB_NATIVE_ADDON = NO_ADDON // inherited by the cluster started below
  t.teardown(() => {
    if (saved === undefined) delete process.env.L4LB_NATIVE_ADDON
    else process.env.L4LB_NATIVE_ADDON = saved
  })
  const be = await startBackend('a')
  t.teardown(() => be.close())
  const lb = await startCluster({ workers: 1, backends: [be], top: { engine: 'auto' } })
  t.teardown(() => lb.stop())
  lb.writeConfig(clusterYaml({ workers: 1, backends: [be], top: { engine: 'native' } }, lb.port, lb.adminPort))
  const r = await lb.admin('POST', '/reload')
  t.equal(r.status, 422, 'rejected')
  t.match((JSON.parse(r.body) as { errors: string[] }).errors[0], UNAVAILABLE, 'the reason, as the error of the key')
  t.equal(await whoServes(lb.port), 'a', 'still serving')
})
