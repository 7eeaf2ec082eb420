// Helpers for the hardening suite: an in-process balancer whose listener and
// timeouts the test chooses (configFor fixes the listener), and readers of
// /proc for the memory and descriptors of forked processes.
import { readFileSync, readdirSync } from 'node:fs'
import net from 'node:net'
import { parseConfig } from '../../src/config/load.ts'
import type { Config } from '../../src/config/types.ts'
import { Engine } from '../../src/proxy/engine.ts'
import { captureLog } from '../helpers/lb.ts'

export interface Upstream {
  readonly name: string
  readonly port: number
}

export interface LbSpec {
  listener?: string // more listener keys, YAML flow ("maxconn: 10, proxy-protocol: {...}")
  timeouts?: string // YAML flow map body ("connect: 300ms, idle: 1s")
  retries?: number
  policy?: string
}

/** One listener `test` on 127.0.0.1:0, one pool over `backends`, connection logs on. */
export function hardeningConfig(backends: readonly Upstream[], spec: LbSpec = {}): Config {
  const listenerExtra = spec.listener ? `, ${spec.listener}` : ''
  const yaml = `
workers: 1
listeners:
  - { name: test, bind: 127.0.0.1:0${listenerExtra} }
pools:
  - name: pool
    policy: ${spec.policy ?? 'round-robin'}
    retries: ${spec.retries ?? 2}
    backends:
${backends.map((b) => `      - { id: ${b.name}, host: 127.0.0.1, port: ${b.port} }`).join('\n')}
    health: { type: none }
timeouts: { ${spec.timeouts ?? 'connect: 1s, idle: 10s, half-closed: 10s'} }
admin: { enabled: false }
log: { level: info, connections: true }
`
  const r = parseConfig(yaml)
  if (!r.ok) throw new Error(`bad test config: ${JSON.stringify(r.errors)}\n${yaml}`)
  return r.config
}

type Teardown = { teardown(fn: () => unknown): void }

/** Start a balancer that logs into memory; shut down in teardown. */
export async function logged(t: Teardown, backends: readonly Upstream[], spec: LbSpec = {}) {
  const cap = captureLog()
  const lb = new Engine(hardeningConfig(backends, spec), { log: cap.log })
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
