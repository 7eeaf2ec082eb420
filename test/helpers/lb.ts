// Test helpers: an in-process Engine in front of fixture backends, and
// clients that tell which backend served them.
import net from 'node:net'
import pino from 'pino'
import type { Config } from '../../src/config/types.ts'
import { Engine } from '../../src/proxy/engine.ts'

export const silent = pino({ level: 'silent' })

export async function startBalancer(config: Config): Promise<{ lb: Engine; port: number }> {
  const lb = new Engine(config, { log: silent })
  await lb.start()
  const port = [...lb.listeners.values()][0].address()!.port
  return { lb, port }
}

/** Connect (optionally from a given 127.x source address), read the first line: the backend's name. */
export function whoServes(port: number, localAddress = '127.0.0.1', timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1', localAddress })
    let buf = ''
    const timer = setTimeout(() => {
      sock.destroy()
      reject(new Error('timed out waiting for a name'))
    }, timeoutMs)
    sock.setEncoding('latin1')
    sock.on('data', (d: string) => {
      buf += d
      const nl = buf.indexOf('\n')
      if (nl !== -1) {
        clearTimeout(timer)
        sock.destroy()
        resolve(buf.slice(0, nl))
      }
    })
    sock.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    sock.on('close', () => {
      clearTimeout(timer)
      reject(new Error(`closed before a name (got ${JSON.stringify(buf)})`))
    })
  })
}

/** Run `n` tasks with at most `concurrency` at once. */
export async function pooled<T>(n: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n)
  let next = 0
  const runners = Array.from({ length: Math.min(concurrency, n) }, async () => {
    while (next < n) {
      const i = next++
      out[i] = await task(i)
    }
  })
  await Promise.all(runners)
  return out
}

export function countBy(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const v of values) out[v] = (out[v] ?? 0) + 1
  return out
}

/** A pino logger that keeps its lines as objects, to assert on log output. */
export function captureLog(): { log: import('pino').Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const stream = { write: (s: string) => void lines.push(JSON.parse(s)) }
  return { log: pino({ level: 'info' }, stream), lines }
}

/** Open a connection and resolve once connected. */
export function connect(port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress, allowHalfOpen: true }, () => resolve(s))
    s.once('error', reject)
  })
}

/** Read until the peer closes; resolve with everything read. */
export function readAll(sock: net.Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = []
    sock.on('data', (d: Buffer) => parts.push(d))
    sock.on('error', () => {})
    sock.on('end', () => sock.end())
    sock.on('close', () => resolve(Buffer.concat(parts)))
  })
}
