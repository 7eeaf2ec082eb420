// The primary's config loader: a small file is parsed in place, a large one on
// a thread; both give loadConfigFile's result, deep-frozen, and errors alike.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'
import { INLINE_MAX_BYTES, loadConfigFileOffThread } from '../../src/config/load-thread.ts'
import { loadConfigFile } from '../../src/config/load.ts'
import { configYaml } from '../helpers/config.ts'

const dir = mkdtempSync(path.join(os.tmpdir(), 'l4lb-load-thread-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

const backends = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `b${i}`, port: 1000 + i }))

t.test('small and large files: the same config as loadConfigFile, frozen', async (t) => {
  for (const [what, n] of [['small', 3], ['large', 2000]] as const) {
    const file = path.join(dir, `${what}.yaml`)
    writeFileSync(file, configYaml(backends(n)))
    const size = Buffer.byteLength(configYaml(backends(n)))
    t.equal(size <= INLINE_MAX_BYTES, what === 'small', `${what}: ${size} bytes is ${what === 'small' ? 'within' : 'above'} the in-place limit`)
    const a = await loadConfigFileOffThread(file)
    const b = await loadConfigFile(file)
    t.ok(a.ok && b.ok, `${what}: loads`)
    if (!a.ok || !b.ok) continue
    t.same(a.config, b.config, `${what}: same config either way`)
    t.equal(a.config.pools[0].backends.length, n, `${what}: all ${n} backends`)
    t.ok(Object.isFrozen(a.config.pools[0].backends[0]), `${what}: deep-frozen`)
  }
})

t.test('errors come back the same way, never as a rejection', async (t) => {
  const bad = path.join(dir, 'bad.yaml')
  writeFileSync(bad, configYaml(backends(1)).replace('round-robin', 'no-such-policy'))
  const r = await loadConfigFileOffThread(bad)
  t.equal(r.ok, false)
  t.match(!r.ok && r.errors[0], { path: 'pools[0].policy' }, 'the bad key named')
  const missing = await loadConfigFileOffThread(path.join(dir, 'missing.yaml'))
  t.match(missing, { ok: false, errors: [{ message: 'file not found' }] }, 'a missing file says so')
})
