// The packed package works installed elsewhere: `npm pack` (prepack builds
// dist/), install the tarball into an empty folder OFFLINE (dependencies from
// the npm cache that `npm ci` filled), then run the installed `l4lb`:
// --version, check on the shipped example, and a short `run` with one worker
// that serves a real connection to a fixture backend, stopped by PID.
// Slow-ish (tsc build ~15-30 s, install ~5 s); the file timeout below has slack.
import t from 'tap'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startBackend } from '../fixtures/backend.ts'
import { clusterYaml, freePort, waitFor } from '../helpers/cluster.ts'
import { whoServes } from '../helpers/lb.ts'
import { appProject, type Lockfile, type PackageJson } from './app-lock.ts'

t.setTimeout(240_000)

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as Lockfile

// The Node running this test (24, from node_modules) first on PATH, so the
// installed bin's `#!/usr/bin/env node` and npm itself run on it.
const env: Record<string, string> = {}
for (const [k, v] of Object.entries(process.env)) {
  // drop what an outer `npm test` exported about itself (lifecycle, package fields)
  if (v !== undefined && !/^npm_(lifecycle|package|command|config_(?!cache$|userconfig$))/.test(k)) env[k] = v
}
env.PATH = [dirname(process.execPath), process.env.PATH ?? ''].join(delimiter)

function npm(args: string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const execpath = process.env.npm_execpath
  const [cmd, argv] = execpath?.endsWith('.js') ? [process.execPath, [execpath, ...args]] : ['npm', args]
  const r = spawnSync(cmd, argv, { cwd, env, encoding: 'utf8', timeout: 180_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const dir = mkdtempSync(join(tmpdir(), 'l4lb-pack-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const app = join(dir, 'app')
const bin = join(app, 'node_modules', '.bin', 'l4lb')

t.test('npm pack builds dist/ and ships no TypeScript sources', async (t) => {
  const r = npm(['pack', '--pack-destination', dir, '--json'], ROOT)
  t.equal(r.code, 0, r.stderr)
  const [info] = JSON.parse(r.stdout) as { filename: string; files: { path: string }[] }[]
  const files = info.files.map((f) => f.path)
  t.ok(files.includes('dist/cli/main.js'), 'dist/cli/main.js packed')
  t.ok(files.includes('dist/cluster/worker-main.js'), 'the worker entry packed')
  t.same(files.filter((f) => f.endsWith('.ts') || f.startsWith('src/') || f.startsWith('test/')), [], 'no sources or tests')

  mkdirSync(app)
  const project = appProject(pkg, lock, `../${info.filename}`)
  writeFileSync(join(app, 'package.json'), JSON.stringify(project.packageJson))
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify(project.lockfile))
  const i = npm(['ci', '--offline', '--no-audit', '--no-fund'], app)
  t.equal(i.code, 0, `offline install:\n${i.stderr}`)
  for (const dep of Object.keys(pkg.dependencies ?? {})) t.ok(existsSync(join(app, 'node_modules', dep)), `${dep} installed`)
  t.notOk(existsSync(join(app, 'node_modules', 'node')), 'the node devDependency is not a runtime dependency')
  t.notOk(existsSync(join(app, 'node_modules', 'l4lb', 'src')), 'no src/ in the installed package')
})

t.test('installed l4lb: --version and check', async (t) => {
  const v = spawnSync(bin, ['--version'], { cwd: app, env, encoding: 'utf8' })
  t.equal(v.status, 0, v.stderr)
  t.equal(v.stdout, `l4lb ${pkg.version} (node ${process.version})\n`)
  const example = join(app, 'node_modules', 'l4lb', 'examples', 'l4lb.yaml')
  const c = spawnSync(bin, ['check', '-c', example], { cwd: app, env, encoding: 'utf8' })
  t.equal(c.status, 0, c.stderr)
  t.match(c.stdout, /l4lb\.yaml: OK \(/)
  const bad = spawnSync(bin, ['check', '-c', join(dir, 'absent.yaml')], { cwd: app, env, encoding: 'utf8' })
  t.equal(bad.status, 1, 'a missing file is exit 1')
})

t.test('installed l4lb run serves a connection, then stops on SIGTERM', async (t) => {
  const backend = await startBackend('fixture-a')
  t.teardown(() => backend.close())
  const port = await freePort()
  const config = join(dir, 'run.yaml')
  writeFileSync(config, clusterYaml({ workers: 1, backends: [backend] }, port, await freePort()))
  const child: ChildProcess = spawn(bin, ['run', '-c', config], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const served = await waitFor(async () => (await whoServes(port, '127.0.0.1', 1000)) === 'fixture-a', 30_000)
  t.not(served, null, `a connection through the installed l4lb reached the backend\n${out}`)
  t.ok(backend.accepted >= 1, 'the fixture backend accepted it')
  child.kill('SIGTERM')
  t.equal(await exited, 0, `exit 0 after SIGTERM\n${out}`)
})
