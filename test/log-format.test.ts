// Log format: the choice (flag > L4LB_LOG_FORMAT > the command's default;
// auto = pretty on a terminal), the human line (one sentence per closed
// connection, via pino-pretty), and the real demo and `l4lb run` on a
// pseudo-terminal (`script`, util-linux) and on a pipe.
import t from 'tap'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chooseLogFormat, connectionSentence, prettyLine } from '../src/log-format.ts'
import { startBackend } from './fixtures/backend.ts'
import { freePort } from './helpers/cluster.ts'
import { until } from './helpers/until.ts'

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))
const CONNECTION = { level: 30, time: '2026-12-03T10:42:07.311Z', pid: 7, component: 'worker', client: '127.0.0.1:51234', listener: 'demo', pool: 'proxies', backend: 'proxy-b', tries: 1, bytesIn: 78, bytesOut: 2048, durationMs: 3, reason: 'client-closed', flags: 'CD', msg: 'connection closed' }
const ESC = String.fromCharCode(27) // ANSI colour sequences start with it
const stripColours = (s: string): string => s.replace(new RegExp(`${ESC}\\[[0-9;]*m`, 'g'), '')
const HUMAN_CONNECTION = /INFO \(\d+\): worker: 127\.0\.0\.1:\d+ → \S+ \(\w+\/\w+\) ↑\d+ B ↓\d+ B \d+ ms, 1 try: [A-Z]{2} /

t.test('the choice: flag, then L4LB_LOG_FORMAT, then the command default; auto follows the terminal', async (t) => {
  const cases: [Parameters<typeof chooseLogFormat>[0], string][] = [
    [{ commandDefault: 'json', isTTY: true }, 'json'], // l4lb run on a terminal stays JSON
    [{ commandDefault: 'auto', isTTY: true }, 'pretty'], // the demo on a terminal
    [{ commandDefault: 'auto', isTTY: false }, 'json'], // the demo piped
    [{ env: 'pretty', commandDefault: 'json', isTTY: false }, 'pretty'],
    [{ env: 'auto', commandDefault: 'json', isTTY: true }, 'pretty'],
    [{ env: '', commandDefault: 'auto', isTTY: true }, 'pretty'], // empty = unset
    [{ flag: 'json', env: 'pretty', commandDefault: 'auto', isTTY: true }, 'json'], // the flag wins
    [{ flag: 'auto', env: 'json', commandDefault: 'json', isTTY: true }, 'pretty'],
  ]
  for (const [inputs, want] of cases) t.equal(chooseLogFormat(inputs), want, JSON.stringify(inputs))
  t.match(String(chooseLogFormat({ flag: 'xml', commandDefault: 'json', isTTY: false })), /--log-format must be one of json, pretty, auto \(got "xml"\)/)
  t.match(String(chooseLogFormat({ env: 'yes', commandDefault: 'json', isTTY: false })), /L4LB_LOG_FORMAT must be one of/)
})

t.test('the human line: one sentence per connection, other lines keep their fields', async (t) => {
  t.equal(connectionSentence(CONNECTION), '127.0.0.1:51234 → proxy-b (demo/proxies) ↑78 B ↓2.0 KiB 3 ms, 1 try: CD the client closed first and the server finished')
  t.equal(connectionSentence({ ...CONNECTION, backend: null, tries: 0, reason: 'no-backend' }), '127.0.0.1:51234 → (no backend) (demo/proxies) ↑78 B ↓2.0 KiB 3 ms, 0 tries: NB no backend could take the flow (all down, drained, full or tried)')
  t.equal(connectionSentence({ msg: 'config reloaded' }), null)
  const plain = prettyLine(false)
  const line = plain(JSON.stringify(CONNECTION))
  t.match(line, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(7\): worker: 127\.0\.0\.1:51234 → proxy-b .* CD the client closed first/)
  t.notMatch(line, /bytesIn|"flags"|\{/, 'no JSON left on a connection line')
  t.ok(line.endsWith('\n'))
  t.match(plain(JSON.stringify({ level: 40, time: 0, pid: 7, component: 'primary', pool: 'p', backend: 'b', msg: 'backend health changed' })), /WARN \(7\): primary: backend health changed \{"pool":"p","backend":"b"\}/)
  t.equal(plain('not json\n'), 'not json\n', 'a line that is not JSON passes as it is')
  t.notOk(line.includes(ESC), 'no colours when asked for none')
  t.ok(prettyLine(true)(JSON.stringify(CONNECTION)).includes(`${ESC}[`), 'colours on a terminal')
})

interface Proc {
  readonly child: ChildProcess
  out(): string
  exited: Promise<number | null>
}

/** Spawn `argv` of l4lb, on a pseudo-terminal (util-linux `script`) when `tty`. */
function l4lb(argv: string[], tty: boolean, env: NodeJS.ProcessEnv = {}): Proc {
  const cmd = [process.execPath, MAIN, ...argv].map((a) => `'${a}'`).join(' ')
  const child = tty
    ? spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env, LOG_LEVEL: undefined } })
    : spawn(process.execPath, [MAIN, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env, LOG_LEVEL: undefined } })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((r) => child.on('close', (c) => r(c)))
  return { child, out: () => out, exited }
}


/** One connection through the balancer: send a line, read the answer until the server closes or 2 s pass. */
function oneConnection(port: number): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => s.end('GET / HTTP/1.0\r\n\r\n'))
    const done = (): void => {
      clearTimeout(timer)
      s.destroy()
      resolve()
    }
    const timer = setTimeout(done, 2000)
    s.on('data', () => {})
    s.on('close', done)
    s.on('error', done)
  })
}

/** Stop a primary by the pid its admin API reports (not the `script` wrapper), then wait for the tree. */
async function stopVia(adminPort: number, p: Proc): Promise<void> {
  try {
    const pid = ((await (await fetch(`http://127.0.0.1:${adminPort}/status`)).json()) as { pid: number }).pid
    process.kill(pid, 'SIGTERM')
  } catch {
    p.child.kill('SIGKILL')
  }
  const t = setTimeout(() => p.child.kill('SIGKILL'), 10_000)
  await p.exited
  clearTimeout(t)
}

const hasScript = spawnSync('script', ['--version']).status === 0

t.test('npm start (l4lb demo): human lines on a terminal, JSON lines on a pipe', async (t) => {
  if (!hasScript) return void t.fail('`script` (util-linux) not found: apt-get install bsdutils')
  for (const tty of [true, false]) {
    const p = l4lb(['demo'], tty)
    let adminPort = 0
    t.teardown(() => (p.child.exitCode === null ? stopVia(adminPort, p) : undefined))
    // On a miss the demo's own output says why (e.g. a port taken by another process meanwhile).
    const started = /status page: {2}http:\/\/127\.0\.0\.1:\d+\//
    t.ok(await until(`${tty ? 'tty' : 'pipe'}: the demo starts`, () => started.test(p.out()) || p.child.exitCode !== null, { deadlineMs: 30_000, intervalMs: 50 }), `${tty ? 'tty' : 'pipe'}: the demo starts or exits`)
    if (!started.test(p.out())) return void t.fail(`${tty ? 'tty' : 'pipe'}: the demo did not start (exit ${p.child.exitCode}):\n${p.out().slice(-2000)}`)
    const port = Number(/balancing 127\.0\.0\.1:(\d+)/.exec(p.out())?.[1])
    adminPort = Number(/status page: {2}http:\/\/127\.0\.0\.1:(\d+)\//.exec(p.out())?.[1])
    for (let i = 0; i < 3; i++) await oneConnection(port)
    const lines = () => p.out().split(/\r?\n/)
    if (tty) {
      t.ok(await until('tty: a human connection line', () => lines().some((l) => HUMAN_CONNECTION.test(stripColours(l))), { deadlineMs: 10_000, intervalMs: 50 }), 'tty: a human connection line')
      t.notOk(lines().some((l) => l.includes('"msg":"connection closed"')), 'tty: no JSON connection line')
    } else {
      t.ok(await until('pipe: a JSON connection line', () => lines().some((l) => l.startsWith('{') && l.includes('"msg":"connection closed"')), { deadlineMs: 10_000, intervalMs: 50 }), 'pipe: a JSON connection line')
      const json = lines().filter((l) => l.includes('"msg":"connection closed"')).map((l) => JSON.parse(l) as Record<string, unknown>)
      t.ok(json.length >= 1 && json.every((j) => typeof j.client === 'string' && typeof j.backend === 'string' && j.flags !== undefined), 'pipe: every connection line is JSON with its fields')
      t.notOk(lines().some((l) => HUMAN_CONNECTION.test(l)), 'pipe: no human line')
    }
    await stopVia(adminPort, p)
  }
})

t.test('l4lb run: JSON on a terminal by default, human lines with --log-format pretty, bad value is a usage error', async (t) => {
  if (!hasScript) return void t.fail('`script` (util-linux) not found: apt-get install bsdutils')
  const be = await startBackend('a')
  t.teardown(() => be.close())
  const dir = mkdtempSync(join(tmpdir(), 'l4lb-logfmt-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  for (const [tty, args, human] of [[true, [], false], [false, ['--log-format', 'pretty'], true]] as const) {
    const [port, adminPort] = [await freePort(), await freePort()]
    const file = join(dir, `l4lb-${port}.yaml`)
    writeFileSync(file, `workers: 1
listeners: [ { name: main, bind: 127.0.0.1:${port} } ]
pools: [ { name: pool, health: { type: none }, backends: [ { id: a, host: 127.0.0.1, port: ${be.port} } ] } ]
admin: { enabled: true, bind: 127.0.0.1:${adminPort} }
shutdown: { drain: 1s }
log: { level: info, connections: true }
`)
    const p = l4lb(['run', '-c', file, ...args], tty)
    t.teardown(() => (p.child.exitCode === null ? stopVia(adminPort, p) : undefined))
    t.ok(await until(`${tty ? 'tty' : 'pipe'}: started`, () => p.out().includes('l4lb running'), { deadlineMs: 30_000, intervalMs: 50 }), `${tty ? 'tty' : 'pipe'}: started`)
    await oneConnection(port)
    const want = human ? (l: string) => HUMAN_CONNECTION.test(l) : (l: string) => l.startsWith('{') && l.includes('"msg":"connection closed"')
    t.ok(await until(tty ? 'run on a terminal: still JSON' : 'run --log-format pretty on a pipe: human', () => p.out().split(/\r?\n/).some(want), { deadlineMs: 10_000, intervalMs: 50 }), tty ? 'run on a terminal: still JSON' : 'run --log-format pretty on a pipe: human')
    await stopVia(adminPort, p)
  }
  const bad = l4lb(['run', '-c', join(dir, 'x.yaml'), '--log-format', 'xml'], false)
  t.equal(await bad.exited, 2, 'a bad --log-format is a usage error')
  t.match(bad.out(), /--log-format must be one of json, pretty, auto/)
})
