// Where l4lb's time goes per new connection: starts the bench's nginx backend and
// one in-process Engine (bench/proxy/profile-target.ts, what a worker runs),
// drives it with `wrk -t1 -c50 -H 'Connection: close'` and reports, per connection:
// CPU time (user/system, from /proc), syscalls (perf's raw_syscalls tracepoint,
// counted only during the load), and optionally a `--cpu-prof` profile's top
// functions by self time, or `strace -c` per syscall name. Bounded; stops by PID.
//   node bench/proxy/profile.ts [--duration S] [--cpu-prof] [--perf] [--strace] [--top N] [--keep] [--node-arg=--flag ...]
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { parseWrk } from './measure-wrk.ts'
import { installCleanupHandlers, runTool, startPiped, startProc, stopAll, stopProc, type Proc } from './procs.ts'
import { treeCpu } from './proctree.ts'
import { REPO_ROOT, startBackends } from './targets.ts'

const TARGET = join(REPO_ROOT, 'bench/proxy/profile-target.ts')
const say = (s: string): void => void process.stdout.write(s + '\n')

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

/** Self time by function and by file from a V8 .cpuprofile, as shares of all samples. */
export function summariseProfile(p: CpuProfile, top: number): string[] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const selfUs = new Map<number, number>()
  let total = 0
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0
    selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + dt)
    total += dt
  }
  const fnSelf = new Map<string, number>()
  const fileSelf = new Map<string, number>()
  for (const [id, us] of selfUs) {
    const f = byId.get(id)!.callFrame
    const file = f.url === '' ? '(native)' : f.url.replace(/^file:\/\//, '').replace(REPO_ROOT, '').replace(/^node:/, 'node:')
    const name = `${f.functionName || '(anonymous)'} ${file}${f.url ? `:${f.lineNumber + 1}` : ''}`
    fnSelf.set(name, (fnSelf.get(name) ?? 0) + us)
    fileSelf.set(file, (fileSelf.get(file) ?? 0) + us)
  }
  const pct = (us: number): string => `${((us / total) * 100).toFixed(1).padStart(5)}%`
  const lines = [`self time, top ${top} functions (of ${(total / 1e6).toFixed(2)} s sampled):`]
  for (const [k, us] of [...fnSelf].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(us)}  ${k}`)
  lines.push('self time by file:')
  for (const [k, us] of [...fileSelf].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(us)}  ${k}`)
  return lines
}

function waitReady(proc: Proc, timeoutMs = 15_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let buf = ''
    const timer = setTimeout(() => reject(new Error('profile target did not start')), timeoutMs)
    proc.child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString()
      const m = /READY (\d+)/.exec(buf)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    })
    void proc.exited.then(() => reject(new Error('profile target exited')))
  })
}

/** Counts syscalls of `pid` for `seconds` with perf's tracepoint; null when perf is unavailable. */
function perfSyscalls(pid: number, seconds: number, dir: string): { proc: Proc; read: () => number | null } | null {
  try {
    execFileSync('perf', ['--version'], { stdio: 'ignore' })
  } catch {
    return null
  }
  const out = join(dir, 'perf.txt')
  const proc = startProc('perf stat', 'perf', ['stat', '-x', ',', '-o', out, '-e', 'raw_syscalls:sys_enter', '-p', String(pid), '--', 'sleep', String(seconds)], join(dir, 'perf.log'))
  return {
    proc,
    read: () => {
      const m = /^(\d+),,raw_syscalls:sys_enter/m.exec(readFileSync(out, 'utf8'))
      return m ? Number(m[1]) : null
    },
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      'cpu-prof': { type: 'boolean', default: false },
      strace: { type: 'boolean', default: false },
      perf: { type: 'boolean', default: false },
      'node-arg': { type: 'string', multiple: true, default: [] },
      top: { type: 'string', default: '30' },
      keep: { type: 'boolean', default: false },
    },
  })
  const seconds = Math.max(1, Math.round(Number(values.duration)))
  installCleanupHandlers()
  const tmp = mkdtempSync(join(tmpdir(), 'l4lb-profile-'))
  const be = await startBackends(tmp)
  let target: Proc | null = null
  try {
    const nodeArgs = values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${tmp}`, '--cpu-prof-interval=200'] : []
    if (values.perf) nodeArgs.push('--perf-basic-prof-only-functions', `--logfile=${join(tmp, 'v8.log')}`) // JIT frames named in perf's report
    nodeArgs.push(...values['node-arg'])
    target = startPiped('profile target', process.execPath, [...nodeArgs, TARGET, be.ports.http.join(',')], join(tmp, 'target.log'))
    const port = await waitReady(target)
    await runTool('wrk', ['-t1', '-c50', '-d2s', '-H', 'Connection: close', `http://127.0.0.1:${port}/`], 30_000) // warm-up

    let strace: Proc | null = null
    if (values.strace) {
      const tids = readdirSync(`/proc/${target.pid}/task`).flatMap((t) => ['-p', t])
      strace = startProc('strace', 'strace', ['-c', '-f', '-o', join(tmp, 'strace.txt'), ...tids], join(tmp, 'strace.log'))
      await new Promise((r) => setTimeout(r, 500))
    }
    const perf = values.strace ? null : perfSyscalls(target.pid, seconds, tmp)
    const record = values.perf
      ? startProc('perf record', 'perf', ['record', '-F', '997', '-g', '-o', join(tmp, 'perf.data'), '-p', String(target.pid), '--', 'sleep', String(seconds)], join(tmp, 'perf-record.log'))
      : null
    const before = treeCpu(target.pid)
    const res = await runTool('wrk', ['-t1', '-c50', `-d${seconds}s`, '-H', 'Connection: close', `http://127.0.0.1:${port}/`], (seconds + 20) * 1000)
    const after = treeCpu(target.pid)
    if (perf) await perf.proc.exited
    if (record) await record.exited
    if (strace) {
      process.kill(strace.pid, 'SIGINT') // strace prints its table when interrupted
      await strace.exited
    }
    const w = parseWrk(res.stdout)
    const user = after.userSec - before.userSec
    const sys = after.systemSec - before.systemSec
    say(`${w.requests} connections in ${w.seconds.toFixed(1)} s: ${Math.round(w.reqPerSec)} conn/s${w.errors ? `, ${w.errors} errors` : ''}`)
    say(`CPU per connection: ${(((user + sys) / w.requests) * 1e6).toFixed(1)} µs (user ${((user / w.requests) * 1e6).toFixed(1)}, system ${((sys / w.requests) * 1e6).toFixed(1)}; user share ${Math.round((user / (user + sys)) * 100)}%)`)
    const sc = perf?.read() ?? null
    if (sc !== null) say(`syscalls per connection: ${(sc / w.requests).toFixed(1)} (${sc} during the run, perf raw_syscalls)`)
    if (strace) {
      const table = readFileSync(join(tmp, 'strace.txt'), 'utf8').trimEnd().split('\n')
      say(`strace -c (during the run; per connection = calls / ${w.requests}):`)
      for (const l of table) {
        const f = l.trim().split(/\s+/)
        const calls = Number(f[3])
        say(`  ${l}${Number.isFinite(calls) && f.length >= 5 ? `   ${(calls / w.requests).toFixed(2)}/conn` : ''}`)
      }
    }
    if (record) {
      // Whole-process samples (kernel and user, every thread) by shared object, then by symbol.
      for (const sort of ['dso', 'dso,sym']) {
        const rep = await runTool('perf', ['report', '-i', join(tmp, 'perf.data'), '--no-children', '--sort', sort, '--stdio', '-g', 'none', '--percent-limit', '0.7'], 60_000)
        say(`perf report --sort ${sort}:`)
        for (const l of rep.stdout.split('\n')) if (l.trim() !== '' && !l.startsWith('#')) say(`  ${l.trim()}`)
      }
    }
    await stopProc(target, 10_000)
    if (values['cpu-prof']) {
      const file = readdirSync(tmp).find((f) => f.endsWith('.cpuprofile'))
      if (!file) say('no .cpuprofile written')
      else {
        say(`profile: ${join(tmp, file)} (includes start-up and the 2 s warm-up)`)
        for (const l of summariseProfile(JSON.parse(readFileSync(join(tmp, file), 'utf8')) as CpuProfile, Number(values.top))) say(l)
      }
    }
  } finally {
    if (target) await stopProc(target)
    await be.stop()
    await stopAll()
    if (!values.keep && !values['cpu-prof'] && !values.perf) rmSync(tmp, { recursive: true, force: true })
  }
}

main().then(
  () => process.exit(0),
  async (err: Error) => {
    process.stderr.write(`profile: ${err.stack ?? err.message}\n`)
    await stopAll()
    process.exit(1)
  },
)
