// Reload at scale: start l4lb with one backend, reload to N backends, and
// measure what an operator would feel: how long until every worker serves
// with the new pickers, the slowest admin answer (/healthz polled every
// 100 ms), the longest silence on an established connection, peak RSS
// (VmHWM) of the primary and of each worker, and how long SIGTERM takes.
// Figures, not asserts: docs/performance.md ("Scale") holds a run.
//
//   node bench/scale/reload.ts [--sizes 1000,5000,10000,20000] [--workers 2]
//                              [--main src/cli/main.ts] [--policy maglev] [--timeout 300]
//
// Sizes above 10,000 are split into pools of 10,000 (the per-pool limit).
// Backends other than the first are 127.x.y.z:9 (nothing listens; health
// `none`, so no probe storm is measured here). Bounded: every wait has a
// deadline; the l4lb started is stopped by PID, SIGKILL after 30 s.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { freePort } from '../../test/helpers/cluster.ts'

const { values: opts } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,5000,10000,20000' },
    workers: { type: 'string', default: '2' },
    main: { type: 'string', default: new URL('../../src/cli/main.ts', import.meta.url).pathname },
    policy: { type: 'string', default: 'maglev' },
    timeout: { type: 'string', default: '300' },
  },
})
const TIMEOUT_MS = Number(opts.timeout) * 1000
const PER_POOL = 10_000

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))


function yaml(n: number, port: number, admin: number, echo: number): string {
  const pools: string[] = []
  for (let first = 0, k = 0; first < n; first += PER_POOL, k++) {
    const lines: string[] = []
    for (let i = first; i < Math.min(n, first + PER_POOL); i++) {
      if (i === 0) lines.push(`      - { id: echo, host: 127.0.0.1, port: ${echo} }`)
      else lines.push(`      - { host: 127.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}, port: 9 }`)
    }
    pools.push(`  - name: p${k}\n    policy: ${opts.policy}\n    health: { type: none }\n    backends:\n${lines.join('\n')}`)
  }
  return `workers: ${opts.workers}
listeners:
  - { name: main, bind: 127.0.0.1:${port}, pool: p0 }
pools:
${pools.join('\n')}
admin: { enabled: true, bind: 127.0.0.1:${admin} }
shutdown: { drain: 2s, hard-stop-after: 60s }
log: { level: warn, connections: false }
`
}

function children(pid: number): number[] {
  try {
    const tasks = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim()
    return tasks === '' ? [] : tasks.split(/\s+/).map(Number)
  } catch {
    return []
  }
}

function hwmMb(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Math.round(Number(m[1]) / 1024) : null
  } catch {
    return null
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T | null }> {
  const t0 = performance.now()
  try {
    const value = await fn()
    return { ms: performance.now() - t0, value }
  } catch {
    return { ms: performance.now() - t0, value: null }
  }
}

async function get(admin: number, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${admin}${path}`, { method, signal: AbortSignal.timeout(TIMEOUT_MS) })
  return { status: res.status, body: await res.text() }
}

interface Row { n: number; reloadMs: number | null; appliedMs: number | null; healthzMaxMs: number; echoGapMaxMs: number; primaryMb: number | null; workersMb: (number | null)[]; sigtermMs: number | null }

async function one(n: number): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'l4lb-scale-'))
  const cfg = join(dir, 'l4lb.yaml')
  const echoServer = net.createServer((s) => s.pipe(s)).listen(0, '127.0.0.1')
  await new Promise((r) => echoServer.once('listening', r))
  const echo = (echoServer.address() as net.AddressInfo).port
  const [port, admin] = [await freePort(), await freePort()]
  writeFileSync(cfg, yaml(1, port, admin, echo))
  const child: ChildProcess = spawn(process.execPath, [resolve(opts.main!), 'run', '-c', cfg], { stdio: ['ignore', 'ignore', 'inherit'] })
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  const kill = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS * 3)
  kill.unref()
  try {
    const upBy = Date.now() + 30_000
    while (Date.now() < upBy && (await get(admin, '/healthz').catch(() => ({ status: 0 }))).status !== 200) await sleep(100)
    // An established connection through the balancer, pinged every 50 ms.
    const sock = net.connect({ port, host: '127.0.0.1' })
    sock.on('error', () => {})
    let lastEcho = performance.now()
    let echoGapMaxMs = 0
    sock.on('data', () => {
      const now = performance.now()
      echoGapMaxMs = Math.max(echoGapMaxMs, now - lastEcho)
      lastEcho = now
    })
    const ping = setInterval(() => sock.write('x'), 50)
    await sleep(500)
    echoGapMaxMs = 0
    lastEcho = performance.now()
    const before = JSON.parse((await get(admin, '/status')).body) as { healthVersion: number }
    writeFileSync(cfg, yaml(n, port, admin, echo))
    const t0 = performance.now()
    let healthzMaxMs = 0
    let polling = true
    const poller = (async () => {
      while (polling) {
        const r = await timed(() => get(admin, '/healthz'))
        healthzMaxMs = Math.max(healthzMaxMs, r.ms)
        await sleep(100)
      }
    })()
    const reload = await timed(() => get(admin, '/reload', 'POST'))
    let appliedMs: number | null = null
    while (performance.now() - t0 < TIMEOUT_MS) {
      const s = (await timed(() => get(admin, '/status'))).value
      if (s !== null) {
        const doc = JSON.parse(s.body) as { healthVersion: number; workers: { snapshotVersion: number; up: boolean }[] }
        if (doc.healthVersion > before.healthVersion && doc.workers.every((w) => w.up && w.snapshotVersion >= doc.healthVersion)) {
          appliedMs = performance.now() - t0
          break
        }
      }
      await sleep(1000) // /status lists every backend: polling it faster would load the primary itself
    }
    await sleep(1000) // let the idle periods of the after-build show in the gap
    polling = false
    await poller
    clearInterval(ping)
    echoGapMaxMs = Math.max(echoGapMaxMs, performance.now() - lastEcho - 50)
    sock.destroy()
    const pid = child.pid!
    const workerPids = children(pid)
    const primaryMb = hwmMb(pid)
    const workersMb = workerPids.map(hwmMb)
    const t1 = performance.now()
    child.kill('SIGTERM')
    const stopped = await Promise.race([exited.then(() => true), sleep(30_000).then(() => false)])
    return { n, reloadMs: reload.value ? reload.ms : null, appliedMs, healthzMaxMs, echoGapMaxMs, primaryMb, workersMb, sigtermMs: stopped ? performance.now() - t1 : null }
  } finally {
    child.kill('SIGKILL')
    clearTimeout(kill)
    echoServer.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

const f = (ms: number | null): string => (ms === null ? 'timeout' : ms >= 10_000 ? `${(ms / 1000).toFixed(0)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`)
console.log(`main: ${opts.main}  policy: ${opts.policy}  workers: ${opts.workers}`)
console.log('| backends | POST /reload answered | all workers serve new pickers | slowest /healthz | longest echo gap | peak RSS primary | peak RSS per worker | SIGTERM to exit |')
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|')
for (const n of opts.sizes!.split(',').map(Number)) {
  const r = await one(n)
  console.log(`| ${n.toLocaleString('en-US')} | ${f(r.reloadMs)} | ${f(r.appliedMs)} | ${f(r.healthzMaxMs)} | ${f(r.echoGapMaxMs)} | ${r.primaryMb} MB | ${r.workersMb.map((m) => `${m} MB`).join(', ')} | ${f(r.sigtermMs)} |`)
}
