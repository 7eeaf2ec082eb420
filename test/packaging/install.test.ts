// The packed package works installed elsewhere, and it is what the container
// image runs. scripts/image-context.ts does what deploy/build-image.sh does
// before `docker build`: `npm pack` (prepack builds dist/), install the
// tarball into an empty folder OFFLINE (dependencies from the npm cache that
// `npm ci` filled), copy the pinned Node. Then the installed `l4lb`: --version,
// check on the shipped example, and a short `run` (1 worker) started with the
// image's ENTRYPOINT + CMD, serving a real connection, stopped by PID.
// deploy/Dockerfile is checked against that context (docker itself is not run
// here). Slow-ish (tsc build ~15-30 s, install ~5 s); timeout with slack.
import t from 'tap'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { childEnv, prepareContext, type Context } from '../../scripts/image-context.ts'
import { startBackend } from '../fixtures/backend.ts'
import { clusterYaml, freePort } from '../helpers/cluster.ts'
import { until } from '../helpers/until.ts'
import { whoServes } from '../helpers/lb.ts'
import { execForm, parseDockerfile, type Instruction } from './dockerfile.ts'

t.setTimeout(300_000)

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> }
const env = childEnv()
const dir = mkdtempSync(join(tmpdir(), 'l4lb-pack-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
let ctx: Context
const bin = (): string => join(ctx.app, 'node_modules', '.bin', 'l4lb')

const dockerText = readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8')
const docker = parseDockerfile(dockerText)
const one = (op: string): Instruction => {
  const all = docker.filter((i) => i.op === op)
  if (all.length !== 1) throw new Error(`expected one ${op} in deploy/Dockerfile, found ${all.length}`)
  return all[0]
}
/** Image path -> path in the context (COPY app/ /opt/l4lb/). */
const inContext = (p: string): string => (p.startsWith('/opt/l4lb/') ? join(ctx.app, p.slice('/opt/l4lb/'.length)) : p)

t.test('npm pack builds dist/, ships no sources, installs offline', async (t) => {
  ctx = prepareContext(join(dir, 'context'))
  t.ok(ctx.packed.includes('dist/cli/main.js'), 'dist/cli/main.js packed')
  t.ok(ctx.packed.includes('dist/cluster/worker-main.js'), 'the worker entry packed')
  t.ok(ctx.packed.includes('deploy/l4lb.service'), 'the systemd unit packed')
  t.same(ctx.packed.filter((f) => f.endsWith('.ts') || f.startsWith('src/') || f.startsWith('test/')), [], 'no sources or tests')
  for (const dep of Object.keys(pkg.dependencies)) t.ok(existsSync(join(ctx.app, 'node_modules', dep)), `${dep} installed`)
  t.notOk(existsSync(join(ctx.app, 'node_modules', 'node')), 'the node devDependency is not a runtime dependency')
  t.notOk(existsSync(join(ctx.app, 'node_modules', 'l4lb', 'src')), 'no src/ in the installed package')
})

t.test('installed l4lb: --version and check', async (t) => {
  const v = spawnSync(bin(), ['--version'], { cwd: ctx.app, env, encoding: 'utf8' })
  t.equal(v.status, 0, v.stderr)
  t.equal(v.stdout, `l4lb ${pkg.version} (node ${process.version})\n`)
  const example = join(ctx.app, 'node_modules', 'l4lb', 'examples', 'l4lb.yaml')
  const c = spawnSync(bin(), ['check', '-c', example], { cwd: ctx.app, env, encoding: 'utf8' })
  t.equal(c.status, 0, c.stderr)
  t.match(c.stdout, /l4lb\.yaml: OK \(/)
  // The install script ran (npm ci skips it unless the lock says hasInstallScript):
  // with a C compiler the installed package has the native engine and says so.
  const cc = spawnSync(process.env.CC ?? 'cc', ['--version']).status === 0
  t.equal(existsSync(join(ctx.app, 'node_modules', 'l4lb', 'native', 'build', 'l4lb_pump.node')), cc, `native engine built at install: ${cc}`)
  t.match(c.stdout, cc ? /engine: auto -> native/ : /engine: auto -> js/)
  const bad = spawnSync(bin(), ['check', '-c', join(dir, 'absent.yaml')], { cwd: ctx.app, env, encoding: 'utf8' })
  t.equal(bad.status, 1, 'a missing file is exit 1')
})

t.test('deploy/Dockerfile: base as a build argument, offline, non-root, its COPY sources in the context', async (t) => {
  const ops = docker.map((i) => i.op)
  t.ok(ops.indexOf('ARG') < ops.indexOf('FROM') && /^BASE=/.test(docker[0].args), 'ARG BASE=... before FROM')
  t.equal(one('FROM').args, '${BASE}')
  for (const run of docker.filter((i) => i.op === 'RUN')) t.notMatch(run.args, /apt|curl|wget|npm|http/, `offline RUN: ${run.args.slice(0, 60)}`)
  const copies = docker.filter((i) => i.op === 'COPY').map((i) => i.args.split(/\s+/))
  t.same(copies, [['node', '/usr/local/bin/node'], ['app/', '/opt/l4lb/']])
  for (const [src] of copies) t.ok(existsSync(join(ctx.dir, src)), `COPY source ${src} in the context`)
  t.ok((statSync(ctx.node).mode & 0o111) !== 0, 'node is executable (COPY keeps the mode)')
  t.equal(one('USER').args, 'l4lb:l4lb', 'runs as the l4lb user')
  t.match(dockerText, /useradd --system --uid "\$UID"/, 'l4lb is a system user with a fixed uid')
  t.equal(one('STOPSIGNAL').args, 'SIGTERM')
  t.match(dockerText, /--init\b/, 'run with an init as PID 1 (signals forwarded to the primary)')
  t.match(dockerText, /--cap-drop ALL --cap-add NET_BIND_SERVICE/, 'one capability')
  t.match(dockerText, /-v \/etc\/l4lb\/l4lb\.yaml:\/etc\/l4lb\/l4lb\.yaml:ro\b/, 'config mounted read-only')
  const entry = execForm(one('ENTRYPOINT'))
  t.same(entry, ['/opt/l4lb/node_modules/.bin/l4lb'])
  t.ok(existsSync(inContext(entry[0])), 'the ENTRYPOINT exists in the context')
  t.same(execForm(one('CMD')), ['run', '-c', '/etc/l4lb/l4lb.yaml'])
})

t.test("the image's ENTRYPOINT + CMD serve a connection, then stop on SIGTERM", async (t) => {
  const backend = await startBackend('fixture-a')
  t.teardown(() => backend.close())
  const port = await freePort()
  const config = join(dir, 'run.yaml')
  writeFileSync(config, clusterYaml({ workers: 1, backends: [backend] }, port, await freePort()))
  const [cmd, ...args] = [...execForm(one('ENTRYPOINT')), ...execForm(one('CMD'))].map((a) => (a === '/etc/l4lb/l4lb.yaml' ? config : inContext(a)))
  // The image's node (/usr/local/bin/node) first on PATH, as the image's ENV PATH does.
  const child: ChildProcess = spawn(cmd, args, { cwd: ctx.app, env: { ...env, PATH: `${ctx.dir}:${env.PATH}` }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const served = await until('a connection through the installed l4lb reaches the backend', async () => (await whoServes(port, '127.0.0.1', 1000)) === 'fixture-a', { deadlineMs: 30_000, intervalMs: 25 }).catch((err: Error) => err)
  t.equal(served, true, `a connection through the installed l4lb reached the backend\n${out}`)
  child.kill('SIGTERM')
  t.equal(await exited, 0, `exit 0 after SIGTERM\n${out}`)
})
