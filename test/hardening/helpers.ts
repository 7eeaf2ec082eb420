// Helpers for the hardening suite: an in-process balancer whose listener and
// timeouts the test chooses (on top of helpers/config.ts), and readers of
// /proc for the memory and descriptors of forked processes.
import { readFileSync, readdirSync } from 'node:fs'
import net from 'node:net'
import type { Config } from '../../src/config/types.ts'
import { Engine } from '../../src/proxy/engine.ts'
import { buildConfig, type ConfigOver, layer, type Upstream } from '../helpers/config.ts'
import { captureLog } from '../helpers/lb.ts'

/** The test config (helpers/config.ts) with connection logs on at info and 1 s / 10 s / 10 s timeouts, then `over`. */
export function hardeningConfig(backends: readonly Upstream[], over: ConfigOver = {}): Config {
  const logs: ConfigOver = { top: { log: { level: 'info', connections: true }, timeouts: { connect: '1s', idle: '10s', 'half-closed': '10s' } } }
  return buildConfig(backends, layer(logs, over))
}

type Teardown = { teardown(fn: () => unknown): void }

/** Start a balancer that logs into memory; shut down in teardown. */
export async function logged(t: Teardown, backends: readonly Upstream[], over: ConfigOver = {}) {
  const cap = captureLog()
  const lb = new Engine(hardeningConfig(backends, over), { log: cap.log })
  await lb.start()
  t.teardown(() => lb.shutdown(200))
  const closed = (): Record<string, unknown>[] => cap.lines.filter((l) => l.msg === 'connection closed')
  return { lb, cap, closed, port: lb.listener('test')!.address()!.port }
}

/** Resident set size of `pid` in bytes (VmRSS), or 0 if it is gone. */
export function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : 0
  } catch {
    return 0
  }
}

/** Open file descriptors of `pid`, or 0 if it is gone. */
export function fdsOf(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length
  } catch {
    return 0
  }
}

/** The value of one Prometheus sample line `name{labels} value`, summed over label sets. */
export function metric(text: string, name: string): number {
  let sum = 0
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return sum
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
export const mb = (n: number): string => `${(n / 1048576).toFixed(1)} MB`

/** Connect and wait for the backend's name: the held socket, or null if closed first or silent for `timeoutMs`. */
export function holdServed(port: number, timeoutMs = 10_000): Promise<net.Socket | null> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' })
    const timer = setTimeout(() => {
      s.destroy()
      resolve(null)
    }, timeoutMs)
    s.once('data', () => {
      clearTimeout(timer)
      resolve(s)
    })
    s.on('error', () => {})
    s.on('close', () => {
      clearTimeout(timer)
      resolve(null)
    })
  })
}
