// Fork a real l4lb primary (`l4lb run -c FILE`) with its workers, talk to its
// admin API, and always stop it (by PID) in teardown.
import { type ChildProcess, spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { StatusDoc } from '../../src/admin/model.ts'
import { type FixtureBackend, refusedPort } from '../fixtures/backend.ts'
import { type ConfigOver, configYaml, layer, type Upstream } from './config.ts'
import { until } from './until.ts'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

/** A free port on 127.0.0.1 (nothing listens there a moment later). */
export const freePort = refusedPort

/** A cluster to fork: the config overrides (helpers/config.ts) plus how to run it. */
export interface ClusterSpec extends ConfigOver {
  workers: number
  backends: readonly Upstream[]
  port?: number // listener port (default: a free one)
  args?: readonly string[] // more `l4lb run` flags
  readyMs?: number // how long startCluster waits for every worker to listen (default 20 s)
}

/**
 * The YAML of a cluster: listener `main` on 127.0.0.1:`port`, a maglev pool with tcp checks
 * every 200 ms (fall 2, rise 2), the admin API on 127.0.0.1:`adminPort`, 2 s drain and
 * hard-stop, warn logs; then the spec's overrides.
 */
export function clusterYaml(spec: ClusterSpec, port: number, adminPort: number): string {
  // A spec's `pool.health` replaces the default check whole rather than merging into it.
  const health = spec.pool?.health ?? { type: 'tcp', interval: '200ms', timeout: '200ms', fall: 2, rise: 2, jitter: 0 }
  const cluster: ConfigOver = {
    top: { workers: spec.workers, admin: { enabled: true, bind: `127.0.0.1:${adminPort}` }, shutdown: { drain: '2s', 'hard-stop-after': '2s' }, log: { level: 'warn', connections: false } },
    listener: { name: 'main', bind: `127.0.0.1:${port}` },
    pool: { policy: 'maglev', health },
  }
  return configYaml(spec.backends, layer(cluster, spec))
}

export interface RunningCluster {
  readonly child: ChildProcess
  readonly exited: Promise<number | null>
  readonly port: number
  readonly adminPort: number
  readonly configPath: string
  output(): string
  status(): Promise<StatusDoc>
  admin(method: string, path: string, body?: string): Promise<{ status: number; body: string }>
  writeConfig(yaml: string): void
  stop(): Promise<number | null>
}

export async function startCluster(spec: ClusterSpec): Promise<RunningCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'l4lb-test-'))
  const configPath = join(dir, 'l4lb.yaml')
  const port = spec.port ?? (await freePort())
  const adminPort = await freePort()
  writeFileSync(configPath, clusterYaml(spec, port, adminPort))
  const child = spawn(process.execPath, [MAIN, 'run', '-c', configPath, ...(spec.args ?? [])], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'warn' } })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  let exited: number | null | undefined
  // 'close', not 'exit': it comes after the child's stdout and stderr are read to the end,
  // so output() holds every line the process wrote before it exited.
  const exit = new Promise<number | null>((r) => child.on('close', (code) => r((exited = code))))
  const admin = async (method: string, path: string, body?: string) => {
    const res = await fetch(`http://127.0.0.1:${adminPort}${path}`, { method, body, headers: body ? { 'content-type': 'application/json' } : {} })
    return { status: res.status, body: await res.text() }
  }
  const c: RunningCluster = {
    child,
    exited: exit,
    port,
    adminPort,
    configPath,
    output: () => out,
    status: async () => JSON.parse((await admin('GET', '/status')).body) as StatusDoc,
    admin,
    writeConfig: (yaml) => writeFileSync(configPath, yaml),
    stop: async () => {
      if (exited === undefined) {
        child.kill('SIGTERM')
        const t = setTimeout(() => child.kill('SIGKILL'), 8000)
        await exit
        clearTimeout(t)
      }
      rmSync(dir, { recursive: true, force: true })
      return exited ?? null
    },
  }
  // Ready when the admin API says every listener and worker is up (or the process is gone).
  const up = await until('every listener and worker of l4lb up', async () => {
    if (exited !== undefined) return 'exited'
    const s = await c.status()
    return s.listeners.every((l) => l.up) && s.workers.length === spec.workers && s.workers.every((w) => w.up) && 'up'
  }, { deadlineMs: spec.readyMs ?? 20_000, intervalMs: 50 }).catch((err: Error) => err)
  if (up === 'up') return c
  if (up === 'exited') throw new Error(`l4lb exited (${exited}) during start:\n${out}`)
  await c.stop()
  throw new Error(`l4lb did not come up (${up.message}):\n${out}`)
}

/** Run `l4lb run -c` on `yaml` that is expected to fail: its exit code and output, or exit null after `ms` (then killed). */
export async function runToExit(yaml: string, ms: number, args: readonly string[] = [], uid?: number): Promise<{ code: number | null; out: string; ms: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'l4lb-test-'))
  const configPath = join(dir, 'l4lb.yaml')
  writeFileSync(configPath, yaml, { mode: 0o644 })
  chmodSync(dir, 0o755) // readable by `uid`
  const t0 = Date.now()
  const child = spawn(process.execPath, [MAIN, 'run', '-c', configPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: tmpdir(), ...(uid === undefined ? {} : { uid, gid: uid }) })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  let code: number | null = null
  const exited = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), ms)
    child.on('close', (c) => { // after stdout/stderr are read to the end (see startCluster)
      clearTimeout(timer)
      code = c
      resolve(true)
    })
  })
  const took = Date.now() - t0
  if (!exited) {
    child.kill('SIGKILL')
    await new Promise((r) => child.once('exit', r))
  }
  rmSync(dir, { recursive: true, force: true })
  return { code, out, ms: took }
}

/** Through the balancer, ask a forward-proxy fixture for a CONNECT tunnel; resolve with the backend's name. */
export function connectVia(port: number, localAddress = '127.0.0.1', timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1', localAddress })
    let buf = ''
    const timer = setTimeout(() => {
      sock.destroy()
      reject(new Error('timed out'))
    }, timeoutMs)
    const fail = (e: Error): void => {
      clearTimeout(timer)
      reject(e)
    }
    sock.setEncoding('latin1')
    sock.write('CONNECT client.invalid:443 HTTP/1.1\r\nHost: client.invalid:443\r\n\r\n')
    sock.on('data', (d: string) => {
      buf += d
      const head = buf.indexOf('\r\n\r\n')
      const nl = head === -1 ? -1 : buf.indexOf('\n', head + 4)
      if (nl !== -1) {
        clearTimeout(timer)
        sock.destroy()
        if (!buf.startsWith('HTTP/1.1 200')) return reject(new Error(buf.slice(0, 40)))
        resolve(buf.slice(head + 4, nl))
      }
    })
    sock.on('error', fail)
    sock.on('close', () => fail(new Error(`closed early: ${JSON.stringify(buf)}`)))
  })
}

/** Client connections (not health probes) a CONNECT fixture received: they ask for client.invalid. */
export function clientConnects(b: FixtureBackend): number {
  return b.firstBytes.filter((x) => x.includes('client.invalid')).length
}
