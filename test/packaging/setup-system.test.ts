// `npm test` sets the machine up by itself: `pretest` runs
// scripts/setup-system.sh, which installs only what is missing and touches
// nothing (no apt) when every tool is present; README's two commands are what
// CI runs. Real script, real bash; PATH is narrowed to a temp folder to play "a fresh machine" and "a ready machine".
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SCRIPT = join(ROOT, 'scripts/setup-system.sh')
const BASH = '/bin/bash'

function run(args: string[], path: string): { code: number | null; stderr: string } {
  const r = spawnSync(BASH, [SCRIPT, ...args], { env: { PATH: path }, encoding: 'utf8', timeout: 10_000 })
  return { code: r.status, stderr: r.stderr }
}

t.test('pretest runs the setup script', async (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  t.equal(pkg.scripts.pretest, 'bash scripts/setup-system.sh && sh scripts/build-native.sh', 'then builds the native engine with the compiler it installed')
})

t.test('a fresh machine: --check names every missing package and fails', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'l4lb-path-'))
  t.teardown(() => rmSync(empty, { recursive: true, force: true }))
  const r = run(['--check'], empty)
  t.equal(r.code, 1)
  t.match(r.stderr, /missing: chromium python3 systemd gcc make etcd-server etcd-client$/m)
})

t.test('a ready machine: exit 0 without apt (apt-get is not even on PATH)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'l4lb-path-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  for (const tool of ['chromium', 'python3', 'systemd-analyze', 'cc', 'make', 'etcd', 'etcdctl']) symlinkSync('/bin/true', join(dir, tool))
  t.same(run(['--check'], dir), { code: 0, stderr: '' })
  t.same(run([], dir), { code: 0, stderr: '' }, 'install mode does nothing when all is present')
})

t.test('a machine half set up: only the absent package is named', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'l4lb-path-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  for (const tool of ['python3', 'systemd-analyze', 'cc', 'make', 'etcd', 'etcdctl']) symlinkSync('/bin/true', join(dir, tool))
  const r = run(['--check'], dir)
  t.equal(r.code, 1)
  t.match(r.stderr, /missing: chromium$/m)
})

t.test("README's first lines are the two commands, and CI runs exactly them", async (t) => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const block = /^```sh\n([^]*?)\n```/m.exec(readme)
  if (block === null) return t.fail('no sh block in README.md')
  t.ok(readme.indexOf(block[0]) < readme.indexOf('\n## '), 'the first block, before any section')
  const commands = block[1].split('\n').map((l) => l.replace(/\s+#.*$/, '').trim())
  t.same(commands, ['npm ci && npm start', 'npm test'])
  const ci = readFileSync(join(ROOT, '.ci/run'), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'))
  const i = ci.indexOf('npm ci')
  t.not(i, -1, 'CI installs with npm ci')
  t.equal(ci[i + 1], 'npm test', 'then runs npm test')
  t.same(ci.filter((l) => l.includes('setup-system')), [], 'CI does no set-up of its own before npm test')
})
