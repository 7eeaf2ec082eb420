// Soak traffic: one client connection of a random kind through the balancer
// to echo backends, checked end to end. Bytes are slices of one random pool
// (cheap to make); what comes back must equal what was sent (sha256), or be
// an intact prefix of it when a backend kill cut the connection. Anything
// else is corruption.
import { createHash } from 'node:crypto'
import net from 'node:net'

export type Kind = 'short' | 'long' | 'big'
export type Outcome = 'ok' | 'cut' | 'corrupt' | 'stuck'

export interface Result {
  readonly kind: Kind
  readonly outcome: Outcome
  readonly sent: number
  readonly received: number
  readonly corruptBytes: number
}

/** Deterministic PRNG (mulberry32): same seed, same soak. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const between = (rnd: () => number, lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1))
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

/** Plan one connection: its kind and the chunks the client sends (then it half-closes). */
export function plan(rnd: () => number, pool: Buffer): { kind: Kind; chunks: Buffer[]; pauseMs: number } {
  const slice = (n: number): Buffer => {
    const at = between(rnd, 0, pool.length - n)
    return pool.subarray(at, at + n)
  }
  const r = rnd()
  if (r < 0.6) return { kind: 'short', chunks: [slice(between(rnd, 1, 64 * 1024))], pauseMs: 0 }
  if (r < 0.85) return { kind: 'long', chunks: Array.from({ length: between(rnd, 5, 20) }, () => slice(between(rnd, 1, 16 * 1024))), pauseMs: between(rnd, 0, 50) }
  return { kind: 'big', chunks: [slice(between(rnd, 256 * 1024, 4 * 1024 * 1024))], pauseMs: 0 }
}

/**
 * Run one planned connection to 127.0.0.1:`port`: send the chunks (a `long`
 * one waits for each echo, then pauses), half-close, read until the balancer
 * closes. Never rejects; `stuck` after `timeoutMs`.
 */
export function run(port: number, p: ReturnType<typeof plan>, timeoutMs: number): Promise<Result> {
  const sent = Buffer.concat(p.chunks)
  return new Promise((resolve) => {
    const got: Buffer[] = []
    let received = 0
    let done = false
    let next = 0
    let waiter: (() => void) | null = null
    const sock = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
    const finish = (stuck: boolean): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      sock.destroy()
      resolve(judge(p.kind, sent, Buffer.concat(got), stuck))
    }
    const timer = setTimeout(() => finish(true), timeoutMs)
    sock.on('data', (d: Buffer) => {
      got.push(d)
      received += d.length
      if (waiter !== null && received >= next) {
        const w = waiter
        waiter = null
        w()
      }
    })
    sock.on('error', () => finish(false))
    sock.on('end', () => finish(false))
    sock.on('close', () => finish(false))
    sock.once('connect', async () => {
      if (p.kind !== 'long') {
        for (const c of p.chunks) sock.write(c)
        sock.end()
        return
      }
      for (const c of p.chunks) {
        if (done) return
        next += c.length
        sock.write(c)
        await new Promise<void>((r) => {
          waiter = r
          if (received >= next) r()
        })
        waiter = null
        if (p.pauseMs > 0) await new Promise((r) => setTimeout(r, p.pauseMs))
      }
      if (!done) sock.end()
    })
  })
}

function judge(kind: Kind, sent: Buffer, got: Buffer, stuck: boolean): Result {
  const base = { kind, sent: sent.length, received: got.length }
  if (got.length === sent.length && sha(got) === sha(sent)) return { ...base, outcome: 'ok', corruptBytes: 0 }
  // Not all of it: an intact prefix is a cut connection; anything else is corruption.
  let same = 0
  const n = Math.min(got.length, sent.length)
  while (same < n && got[same] === sent[same]) same++
  const corruptBytes = got.length - same
  if (corruptBytes > 0) return { ...base, outcome: 'corrupt', corruptBytes }
  return { ...base, outcome: stuck ? 'stuck' : 'cut', corruptBytes: 0 }
}
