// The backends and the proxies under test: how each one is started, where it listens,
// and which PID roots its process tree (for CPU and memory). Every instance gets its
// own temp directory for config, pid file and log, and fresh random ports.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  haproxyConfig,
  l4lbConfig,
  nginxBackendConfig,
  nginxStreamConfig,
  type BackendPorts,
  type FrontendPorts,
} from './configs.ts'
import { freePorts, startProc, stopProc, waitForPort, type Proc } from './procs.ts'
import { processTree } from './proctree.ts'

export type ProxyKind = 'direct' | 'haproxy' | 'nginx' | 'l4lb'

export interface ProxySpec {
  readonly id: string // e.g. haproxy-2
  readonly label: string // e.g. "HAProxy 2 threads"
  readonly kind: ProxyKind
  readonly threads: number // threads or worker processes; 0 for direct
  readonly engine?: 'js' | 'native' // l4lb only: config `engine`
  readonly stage?: 1 | 2 | 3 // l4lb native only: 1 = JavaScript accepts and connects, then hands over (L4LB_NATIVE_CONNECT=0); 2 = JavaScript accepts, the pump connects (L4LB_NATIVE_ACCEPT=0); 3 (default) = the pump accepts too
  readonly splice?: boolean // HAProxy only: `option splice-auto`
}

export interface RunningTarget {
  readonly spec: ProxySpec
  readonly ports: FrontendPorts
  /** Root of the proxy's process tree; null for direct (no proxy). */
  readonly proc: Proc | null
  stop(): Promise<void>
}

export interface Backends {
  readonly ports: BackendPorts
  stop(): Promise<void>
}

export const REPO_ROOT = new URL('../../', import.meta.url).pathname
export const L4LB_CLI = join(REPO_ROOT, 'src/cli/main.ts')

/** The proxies in table order; l4lb's N is `workers`. */
export function proxySpecs(workers: number): ProxySpec[] {
  return [
    { id: 'direct', label: 'direct (no proxy)', kind: 'direct', threads: 0 },
    { id: 'haproxy-1', label: 'HAProxy 1 thread', kind: 'haproxy', threads: 1 },
    { id: 'haproxy-2', label: 'HAProxy 2 threads', kind: 'haproxy', threads: 2 },
    { id: 'haproxy-splice-1', label: 'HAProxy 1 thread, splice-auto', kind: 'haproxy', threads: 1, splice: true },
    { id: 'nginx-1', label: 'nginx stream 1 worker', kind: 'nginx', threads: 1 },
    { id: 'nginx-2', label: 'nginx stream 2 workers', kind: 'nginx', threads: 2 },
    { id: 'l4lb-1', label: 'l4lb 1 worker', kind: 'l4lb', threads: 1, engine: 'js' },
    { id: `l4lb-${workers}`, label: `l4lb ${workers} workers`, kind: 'l4lb', threads: workers, engine: 'js' },
    { id: 'l4lb-native-s1-1', label: 'l4lb native stage 1 (JS connects), 1 worker', kind: 'l4lb', threads: 1, engine: 'native', stage: 1 },
    { id: 'l4lb-native-s2-1', label: 'l4lb native stage 2 (JS accepts), 1 worker', kind: 'l4lb', threads: 1, engine: 'native', stage: 2 },
    { id: 'l4lb-native-1', label: 'l4lb native 1 worker', kind: 'l4lb', threads: 1, engine: 'native' },
    { id: `l4lb-native-${workers}`, label: `l4lb native ${workers} workers`, kind: 'l4lb', threads: workers, engine: 'native' },
  ]
}

/** The reference for "× HAProxy": HAProxy with the same thread count (1 or 2). */
export function haproxyRefId(spec: ProxySpec): string | undefined {
  if (spec.kind === 'direct' || spec.kind === 'haproxy') return undefined
  return `haproxy-${Math.min(2, Math.max(1, spec.threads))}`
}

/** Starts the nginx backend (three ports) and the iperf3 server. */
export async function startBackends(root: string): Promise<Backends> {
  const dir = mkdtempSync(join(root, 'backend-'))
  for (const t of ['tmp-body', 'tmp-proxy', 'tmp-fastcgi', 'tmp-uwsgi', 'tmp-scgi']) mkdirSync(join(dir, t))
  const [p1, p2, p3, iperf] = await freePorts(4)
  const ports: BackendPorts = { http: [p1, p2, p3], iperf }
  const conf = join(dir, 'nginx.conf')
  writeFileSync(conf, nginxBackendConfig(dir, ports.http))
  const nginx = startProc('backend nginx', 'nginx', ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf], join(dir, 'out.log'))
  const iperfProc = startProc('iperf3 server', 'iperf3', ['-s', '-B', '127.0.0.1', '-p', String(iperf), '--rcv-timeout', '10000', '--idle-timeout', '60'], join(dir, 'iperf3.log'))
  try {
    for (const p of ports.http) await waitForPort(p, nginx)
    await waitForPort(iperf, iperfProc)
  } catch (err) {
    await Promise.all([stopProc(nginx), stopProc(iperfProc)])
    throw err
  }
  return {
    ports,
    stop: async () => {
      await Promise.all([stopProc(nginx), stopProc(iperfProc)])
    },
  }
}

/** Processes expected in the tree once the proxy is fully up (master + workers). */
function expectedProcs(spec: ProxySpec): number {
  if (spec.kind === 'nginx') return spec.threads + 1
  if (spec.kind === 'l4lb' && spec.threads > 1) return spec.threads + 1
  return 1
}

/** Resolves once the tree under `proc` holds at least `n` processes (or after `timeoutMs`). */
async function waitForTree(proc: Proc, n: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  // The tree's root is `sh` only for an instant (it execs); count from the PID itself.
  while (Date.now() < deadline && processTree(proc.pid).length < n) await new Promise((r) => setTimeout(r, 100))
}

/**
 * Starts one instance of `spec` in front of `be`, waits until both frontends accept.
 * Throws (with the proxy's log tail) if it fails to start; stops what it started.
 */
export async function startTarget(spec: ProxySpec, be: BackendPorts, root: string): Promise<RunningTarget> {
  if (spec.kind === 'direct') {
    return { spec, ports: { http: be.http[0], iperf: be.iperf }, proc: null, stop: async () => {} }
  }
  const dir = mkdtempSync(join(root, `${spec.id}-`))
  const [http, iperf] = await freePorts(2)
  const fe: FrontendPorts = { http, iperf }
  const log = join(dir, 'out.log')
  let proc: Proc
  if (spec.kind === 'haproxy') {
    const conf = join(dir, 'haproxy.cfg')
    writeFileSync(conf, haproxyConfig(spec.threads, fe, be, spec.splice === true))
    proc = startProc(spec.id, 'haproxy', ['-db', '-f', conf], log)
  } else if (spec.kind === 'nginx') {
    const conf = join(dir, 'nginx.conf')
    writeFileSync(conf, nginxStreamConfig(dir, spec.threads, fe, be))
    proc = startProc(spec.id, 'nginx', ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf], log)
  } else {
    if (!existsSync(L4LB_CLI)) throw new Error(`l4lb: ${L4LB_CLI} not found`)
    const conf = join(dir, 'l4lb.yaml')
    writeFileSync(conf, l4lbConfig(spec.threads, fe, be, spec.engine ?? 'js'))
    const env = spec.stage === 1 ? { ...process.env, L4LB_NATIVE_CONNECT: '0' } : spec.stage === 2 ? { ...process.env, L4LB_NATIVE_ACCEPT: '0' } : undefined
    proc = startProc(spec.id, process.execPath, [L4LB_CLI, 'run', '-c', conf], log, REPO_ROOT, env)
  }
  try {
    await waitForPort(fe.http, proc, 15_000)
    await waitForPort(fe.iperf, proc, 15_000)
    await waitForTree(proc, expectedProcs(spec))
  } catch (err) {
    await stopProc(proc)
    throw err
  }
  return { spec, ports: fe, proc, stop: () => stopProc(proc) }
}
