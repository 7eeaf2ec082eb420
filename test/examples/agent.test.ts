// examples/agent/agent.mjs as a proxy host would run it: a real process on a
// real socket, its memory read from a file the test writes. Its lines are what
// l4lb's poller and parser take: weight from free memory, drain past the
// threshold, back to ready only below the resume mark.
import { spawn } from 'node:child_process'
import { copyFileSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { parseAgentLine } from '../../src/health/agent-line.ts'
import { askAgent } from '../../src/health/probes/agent.ts'

const AGENT = join(import.meta.dirname, '..', '..', 'examples', 'agent', 'agent.mjs')

t.test('weight from free memory, drain above the threshold with hysteresis', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'l4lb-agent-'))
  const meminfo = join(dir, 'meminfo')
  const used = (pct: number): void => writeFileSync(meminfo, `MemTotal:       1000000 kB\nMemFree:         1 kB\nMemAvailable:   ${(100 - pct) * 10000} kB\n`)
  used(37)
  const child = spawn(process.execPath, [AGENT, '--port', '0', '--bind', '127.0.0.1', '--drain-at', '90', '--resume-at', '85', '--step', '10'], { env: { ...process.env, AGENT_MEMINFO: meminfo }, stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => {
    child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`agent did not start: ${out}`)), 10_000)
    child.stdout!.on('data', (d) => {
      out += d
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    })
    child.stderr!.on('data', (d) => (out += d))
  })
  const ask = async (): Promise<ReturnType<typeof parseAgentLine>> => {
    const a = await askAgent({ host: '127.0.0.1', port, send: 'l4lb\n', timeoutMs: 2000 })
    if (!a.ok) throw new Error(a.reason)
    return parseAgentLine(a.line)
  }
  let r = await ask()
  t.same([r.admin, r.percent, r.problems], ['ready', 60, []], '37% used: ready at 63%, in steps of 10: 60%')
  used(92)
  r = await ask()
  t.same([r.admin, r.percent, r.description], ['drain', 10, 'memory 92% used'], 'past --drain-at: drain')
  used(88)
  t.equal((await ask()).admin, 'drain', 'between the marks: still drain (no flapping)')
  used(80)
  r = await ask()
  t.same([r.admin, r.percent], ['ready', 20], 'below --resume-at: ready again')
  used(100)
  t.equal((await ask()).percent, 1, 'never 0%: only drain takes it out')
  used(96)
  t.equal((await ask()).percent, 1, '4% free rounds to 0 in steps of 10: still 1%')
})

t.test('bad options are refused at start', async (t) => {
  const child = spawn(process.execPath, [AGENT, '--drain-at', '80', '--resume-at', '95'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  child.stderr!.on('data', (d) => (err += d))
  const code = await new Promise<number | null>((r) => child.on('close', r))
  t.not(code, 0)
  t.match(err, /--resume-at must not be above --drain-at/)
})

/** Run the agent with `args` from `script` and collect its exit code and output (bounded to 10 s). */
async function runAgent(script: string, args: string[], cwd?: string): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [script, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (err += d))
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  const code = await new Promise<number | null>((r) => child.on('close', r))
  clearTimeout(timer)
  return { code, out, err }
}

t.test('runs through a symlink and from a path with a space (old check silently did nothing)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'l4lb agent '))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const link = join(dir, 'agent-link.mjs')
  symlinkSync(AGENT, link)
  const copy = join(dir, 'agent.mjs')
  copyFileSync(AGENT, copy)
  for (const script of [link, copy]) {
    const r = await runAgent(script, ['--help'])
    t.equal(r.code, 0, `${script}: --help exits 0`)
    t.match(r.out, /^usage: node agent\.mjs /, `${script}: prints usage`)
  }
})

t.test('usage errors exit 2 with a usage line, no stack trace', async (t) => {
  for (const [args, want] of [[['--port'], /--port needs a value/], [['--frobnicate', '1'], /unknown option --frobnicate/], [['--step', 'x'], /bad value for --step: x/]] as const) {
    const r = await runAgent(AGENT, [...args])
    t.equal(r.code, 2, `${args.join(' ')}: exit 2`)
    t.match(r.err, want)
    t.match(r.err, /usage: node agent\.mjs/)
    t.notMatch(r.err, /\n\s+at /, 'no stack trace')
  }
})

t.test('a port in use: one line and exit 1, no stack trace', async (t) => {
  const busy = createServer()
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r))
  t.teardown(() => busy.close())
  const port = (busy.address() as AddressInfo).port
  const r = await runAgent(AGENT, ['--port', String(port), '--bind', '127.0.0.1'])
  t.equal(r.code, 1)
  t.match(r.err, new RegExp(`agent: port ${port} in use`))
  t.notMatch(r.err, /\n\s+at /, 'no stack trace')
})
