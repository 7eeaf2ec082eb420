// Fleet nodes for tests: real `l4lb run` primaries on loopback, each with its
// own file whose `fleet:` points at a TestEtcd, plus `l4lb fleet` CLI runs.
// Every node is stopped by PID in teardown (SIGKILL after 8 s).
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import YAML from 'yaml'
import type { FleetStatus, StatusDoc } from '../../src/admin/model.ts'
import { freePort } from './cluster.ts'
import type { Upstream } from './config.ts'
import type { TestEtcd } from './etcd.ts'
import { until } from './until.ts'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

/** Fleet timing for tests: 2 s lease (etcd's minimum by default), results stale after 600 ms, a full read every 500 ms. */
export const FAST = { 'lease-ttl': '2s', 'stale-after': '600ms', 'poll-interval': '500ms' }

/** The shared part: pool `web` (maglev, tcp checks every 100 ms, fall 2 rise 2, no jitter) over `backends`. */
export function sharedYaml(backends: readonly Upstream[], pool: Record<string, unknown> = {}): string {
  return YAML.stringify({
    pools: [{
      name: 'web', policy: 'maglev', retries: 1,
      health: { type: 'tcp', interval: '100ms', 'fast-interval': '100ms', timeout: '200ms', fall: 2, rise: 2, jitter: 0 },
      backends: backends.map((b) => ({ id: b.name, host: '127.0.0.1', port: b.port })),
      ...pool,
    }],
    timeouts: { connect: '1s' },
  })
}

export interface FleetNodeProc {
  readonly name: string
  readonly child: ChildProcess
  readonly port: number
  readonly adminPort: number
  readonly stateFile: string
  readonly configPath: string
  output(): string
  exitCode(): number | null | undefined // undefined while running
  status(): Promise<StatusDoc>
  fleet(): Promise<FleetStatus>
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

export interface NodeOptions {
  readonly etcd: TestEtcd
  readonly name: string
  readonly prefix?: string
  readonly fleet?: Record<string, unknown> // more fleet keys (FAST by default)
  readonly dir?: string // keep the state file across restarts of a node
  readonly waitUp?: boolean // wait for the listener (default true)
}

/** The node-local file of a fleet node. */
export function nodeYaml(o: NodeOptions, port: number, adminPort: number, stateFile: string): string {
  return YAML.stringify({
    workers: 1,
    listeners: [{ name: 'main', bind: `127.0.0.1:${port}`, pool: 'web' }],
    admin: { bind: `127.0.0.1:${adminPort}` },
    shutdown: { drain: '1s', 'hard-stop-after': '1s' },
    log: { level: 'info', connections: false },
    fleet: { endpoints: [o.etcd.endpoint], prefix: o.prefix ?? '/test', node: o.name, 'state-file': stateFile, ...FAST, ...o.fleet },
  })
}

/** Fork `l4lb run` for a fleet node; resolves when its listener is up (or rejects with its output). */
export async function startNode(o: NodeOptions): Promise<FleetNodeProc> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'l4lb-fleet-'))
  const configPath = join(dir, `${o.name}.yaml`)
  const stateFile = join(dir, `${o.name}-state.yaml`)
  const port = await freePort()
  const adminPort = await freePort()
  writeFileSync(configPath, nodeYaml(o, port, adminPort, stateFile))
  const child = spawn(process.execPath, [MAIN, 'run', '-c', configPath], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' } })
  let out = ''
  child.stdout!.on('data', (d) => (out = (out + d).slice(-200_000)))
  child.stderr!.on('data', (d) => (out = (out + d).slice(-200_000)))
  let code: number | null | undefined
  const closed = new Promise<number | null>((r) => child.on('close', (c) => r((code = c))))
  const get = async (path: string): Promise<unknown> => (await (await fetch(`http://127.0.0.1:${adminPort}${path}`)).json())
  const n: FleetNodeProc = {
    name: o.name, child, port, adminPort, stateFile, configPath,
    output: () => out,
    exitCode: () => code,
    status: async () => (await get('/status')) as StatusDoc,
    fleet: async () => {
      const s = (await get('/status')) as StatusDoc
      if (s.fleet === null) throw new Error('no fleet in /status')
      return s.fleet
    },
    stop: async (signal = 'SIGTERM') => {
      if (code === undefined) {
        child.kill(signal)
        const t = setTimeout(() => child.kill('SIGKILL'), 8000)
        await closed
        clearTimeout(t)
      }
      if (o.dir === undefined) rmSync(dir, { recursive: true, force: true })
      return code ?? null
    },
  }
  if (o.waitUp === false) return n
  const up = await until(`fleet node ${o.name} up`, async () => {
    if (code !== undefined) return 'exited'
    const s = await n.status()
    return s.listeners.every((l) => l.up) && s.workers.every((w) => w.up) && s.workers.length > 0 && 'up'
  }, { deadlineMs: 20_000, intervalMs: 50 }).catch((err: Error) => err)
  if (up === 'up') return n
  await n.stop('SIGKILL')
  throw new Error(`fleet node ${o.name} did not come up (${up === 'exited' ? `exit ${code}` : up.message}):\n${out}`)
}

/** Run `l4lb fleet ARGS` to the end: exit code and output. */
export function fleetCli(args: readonly string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return l4lbCli(['fleet', ...args], timeoutMs)
}

/** Run `l4lb ARGS` to the end (SIGKILL after `timeoutMs`): exit code and output. */
export function l4lbCli(args: readonly string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', (code) => {
      clearTimeout(t)
      resolve({ code, stdout, stderr })
    })
  })
}

/** Write `text` to a temp file and `l4lb fleet push` it to `etcd` under `prefix`. */
export async function push(etcd: TestEtcd, text: string, prefix = '/test', more: readonly string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'l4lb-push-'))
  try {
    const file = join(dir, 'shared.yaml')
    writeFileSync(file, text)
    return await fleetCli(['push', '-c', file, '--endpoints', etcd.endpoint, '--prefix', prefix, ...more])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * "backend:to" of every `backend health changed` line a node logged at or after `since` (epoch ms),
 * by each line's own time: output arrives through a pipe, so position in it says nothing about when.
 */
export function healthChangesSince(n: FleetNodeProc, since: number): string[] {
  return n.output().split('\n').filter((l) => l.includes('"backend health changed"')).flatMap((l) => {
    try {
      const j = JSON.parse(l) as { time: string; backend: string; to: string }
      return Date.parse(j.time) >= since ? [`${j.backend}:${j.to}`] : []
    } catch {
      return []
    }
  })
}
