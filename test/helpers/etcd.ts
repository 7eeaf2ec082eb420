// A real single-member etcd (Debian's etcd-server) on loopback for the fleet
// tests: free client and peer ports, its own data dir, stopped by PID in
// teardown even when the test fails. `stop()` keeps the data dir so `start()`
// can bring the same member back (the "store comes back" half of a drill).
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Etcd3 } from 'etcd3'
import { freePort } from './cluster.ts'
import { until } from './until.ts'

export interface TestEtcd {
  /** http://127.0.0.1:PORT, the one client URL. */
  readonly endpoint: string
  readonly dataDir: string
  /** PID of the running etcd, or null when stopped. */
  pid(): number | null
  output(): string
  /** A client of its own (closed by `destroy`). */
  client(): Etcd3
  /** Start (again) on the same ports and data dir; resolves when it answers a read. */
  start(): Promise<void>
  /** SIGKILL by PID (SIGTERM first unless `hard`); resolves when it has exited. */
  stop(hard?: boolean): Promise<void>
  /** stop + remove the data dir + close clients. */
  destroy(): Promise<void>
}

/** Start etcd on 127.0.0.1; rejects (after stopping it) when it does not answer within `readyMs` (default 15 s). */
export async function startEtcd(readyMs = 15_000): Promise<TestEtcd> {
  const dataDir = mkdtempSync(join(tmpdir(), 'l4lb-etcd-'))
  const clientPort = await freePort()
  let peerPort = await freePort()
  while (peerPort === clientPort) peerPort = await freePort()
  const endpoint = `http://127.0.0.1:${clientPort}`
  const peer = `http://127.0.0.1:${peerPort}`
  const clients: Etcd3[] = []
  let child: ChildProcess | null = null
  let exited: Promise<void> = Promise.resolve()
  let out = ''
  const e: TestEtcd = {
    endpoint,
    dataDir,
    pid: () => (child !== null && child.exitCode === null && child.signalCode === null ? child.pid ?? null : null),
    output: () => out,
    client: () => {
      const c = new Etcd3({ hosts: endpoint, dialTimeout: 1000 })
      clients.push(c)
      return c
    },
    start: async () => {
      if (e.pid() !== null) return
      const args = ['--name', 'test', '--data-dir', dataDir, '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
        '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `test=${peer}`, '--log-level', 'warn']
      const c = spawn('etcd', args, { stdio: ['ignore', 'pipe', 'pipe'] })
      child = c
      c.stdout!.on('data', (d) => (out = (out + d).slice(-20_000)))
      c.stderr!.on('data', (d) => (out = (out + d).slice(-20_000)))
      exited = new Promise((r) => c.once('close', () => r()))
      // No etcd on PATH: say what installs it (npm test's pretest does).
      c.once('error', (err: NodeJS.ErrnoException) => (out += `cannot run etcd (${err.code ?? err.message}): bash scripts/setup-system.sh installs etcd-server\n`))
      const probe = new Etcd3({ hosts: endpoint, dialTimeout: 500 })
      try {
        await until('etcd answers a read', async () => {
          if (e.pid() === null) throw new Error(`etcd exited:\n${out}`)
          await probe.get('l4lb-test-ready').string()
          return true
        }, { deadlineMs: readyMs, intervalMs: 100 })
      } catch (err) {
        await e.stop(true)
        throw err
      } finally {
        probe.close()
      }
    },
    stop: async (hard = false) => {
      const c = child
      if (c === null || e.pid() === null) return
      c.kill(hard ? 'SIGKILL' : 'SIGTERM')
      const timer = setTimeout(() => c.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
    destroy: async () => {
      for (const c of clients) c.close()
      await e.stop(true)
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
  await e.start().catch((err: unknown) => {
    rmSync(dataDir, { recursive: true, force: true })
    throw err
  })
  return e
}
