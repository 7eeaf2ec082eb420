// Client-side load generator; runs INSIDE the lab's client container:
//   node /l4lb/lab/tools/load.ts MODE --vip IP [--port 80] [--src-from IP --src-count N] [options]
// MODE burst:  --count N --concurrency C        N short connections, then exit
//      steady: --rate R --duration MS           a new short connection every 1000/R ms
//      hold:   --count N --ping MS --duration MS N long-lived connections, each pinged every MS;
//              {ev:"tick", pongs, alive} every MS, {ev:"lost"} when one breaks
// A short connection = connect from a chosen source address, send "WHO", read the
// backend's one-line answer ({"be","peer"}: which backend, through which l4lb node), close.
// Output: JSON lines on stdout, one per connection result ({ev:"conn"}) or loss
// ({ev:"lost"}), {ev:"ready"} when the load is running, {ev:"done"} at the end.
// With --sites S1,S2,... (host:port each) burst and steady make CONNECT tunnels instead
// (tools/tunnel.ts): connection i asks for site (i + floor(i / sources)) mod sites, so every
// source address meets every site; {ev:"conn"} then also carries site, status, origin, originPeer.
// Every mode is bounded in count and time; steady and hold also stop at "stop" or EOF on stdin.
import net from 'node:net'
import { shortConnection, tunnelConn, type ShortResult } from './tunnel.ts'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { wallMs } from '../node/wallclock.ts'

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    vip: { type: 'string' }, port: { type: 'string', default: '80' },
    'src-from': { type: 'string' }, 'src-count': { type: 'string', default: '1' },
    count: { type: 'string', default: '100' }, concurrency: { type: 'string', default: '20' },
    rate: { type: 'string', default: '200' }, duration: { type: 'string', default: '10000' },
    ping: { type: 'string', default: '100' }, timeout: { type: 'string', default: '1000' },
    sites: { type: 'string', default: '' },
  },
})
const mode = positionals[0]
const vip = a.vip as string
const port = Number(a.port)
const timeoutMs = Number(a.timeout)
const MAX_DURATION_MS = 120_000
const MAX_COUNT = 20_000
const MAX_BEHIND_MS = 50 // steady mode: further behind schedule than this, skip the missed slots

function now(): number { return Math.round(wallMs() * 1000) / 1000 }
function out(o: Record<string, unknown>): void { process.stdout.write(JSON.stringify(o) + '\n') }
function ipToInt(s: string): number { return s.split('.').reduce((n, o) => n * 256 + Number(o), 0) }
function intToIp(n: number): string { return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.') }
const sources: (string | undefined)[] = a['src-from']
  ? Array.from({ length: Number(a['src-count']) }, (_, i) => intToIp(ipToInt(a['src-from'] as string) + i))
  : [undefined]

interface Conn extends ShortResult { be?: string; peer?: string }

const sites = (a.sites as string).split(',').filter(Boolean)

/** One short connection (a tunnel with --sites); resolves with its result, never rejects. */
function shortConn(i: number): Promise<Conn> {
  const src = sources[i % sources.length]
  if (sites.length) return tunnelConn(i, vip, port, src, sites[(i + Math.floor(i / sources.length)) % sites.length], timeoutMs, now)
  const c: Conn = { i, src, t0: now(), ok: false }
  let buf = ''
  return shortConnection(c, vip, port, timeoutMs, now, 'WHO\n', (d, finish) => {
    buf += d.toString()
    const k = buf.indexOf('\n')
    if (k < 0) return
    try {
      const w = JSON.parse(buf.slice(0, k)) as { be: string; peer: string }
      c.be = w.be; c.peer = w.peer; c.ok = true
      finish()
    } catch { finish('bad-answer') }
  })
}

let stopping = false
const stopWaiters: Array<() => void> = []
process.stdin.on('data', (d) => { if (d.toString().includes('stop')) stop() })
process.stdin.on('end', () => stop())
function stop(): void { stopping = true; for (const f of stopWaiters.splice(0)) f() }
function stopped(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, Math.min(ms, MAX_DURATION_MS))
    stopWaiters.push(() => { clearTimeout(t); resolve() })
  })
}

async function burst(): Promise<void> {
  const count = Math.min(Number(a.count), MAX_COUNT)
  let next = 0
  let ok = 0
  const worker = async () => {
    while (next < count) {
      const c = await shortConn(next++)
      if (c.ok) ok++
      out({ ev: 'conn', ...c })
    }
  }
  out({ ev: 'ready', t: now() })
  await Promise.all(Array.from({ length: Math.min(Number(a.concurrency), count) }, worker))
  out({ ev: 'done', t: now(), count, ok, failed: count - ok, ...lagMs() })
}

async function steady(): Promise<void> {
  const period = 1000 / Number(a.rate)
  const durationMs = Math.min(Number(a.duration), MAX_DURATION_MS)
  const pending = new Set<Promise<void>>()
  let i = 0
  let ok = 0
  let slot = 0
  let skipped = 0
  const start = performance.now()
  out({ ev: 'ready', t: now() })
  // Schedule against the start time, so a slightly slow event loop does not lower the rate. After a
  // stall of this client longer than MAX_BEHIND_MS (a busy machine) the missed slots are skipped and
  // reported ({ev:"stall"}), not fired at once: a catch-up burst would overload the lab and turn one
  // pause of the load generator into a storm of timeouts that says nothing about failover.
  while (!stopping && performance.now() - start < durationMs && i < MAX_COUNT) {
    const p: Promise<void> = shortConn(i++).then((c) => { if (c.ok) ok++; out({ ev: 'conn', ...c }); pending.delete(p) })
    pending.add(p)
    slot++
    let wait = start + slot * period - performance.now()
    if (wait < -MAX_BEHIND_MS) {
      const n = Math.floor(-wait / period)
      slot += n
      skipped += n
      out({ ev: 'stall', t: now(), behindMs: Math.round(-wait), skipped: n })
      wait = start + slot * period - performance.now()
    }
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
  }
  await Promise.all(pending)
  out({ ev: 'done', t: now(), count: i, ok, failed: i - ok, skipped, ...lagMs() })
}

async function hold(): Promise<void> {
  const count = Math.min(Number(a.count), 2000)
  const pingMs = Number(a.ping)
  const durationMs = Math.min(Number(a.duration), MAX_DURATION_MS)
  let lost = 0
  let open = 0
  let pongs = 0
  const socks: net.Socket[] = []
  const one = (i: number) => new Promise<void>((resolve) => {
    const src = sources[i % sources.length]
    const s = net.connect({ host: vip, port, localAddress: src })
    socks.push(s)
    s.setNoDelay(true)
    let buf = ''
    let info: Record<string, unknown> = { i, src }
    let held = false
    let seq = 0
    let lastPong = performance.now()
    let pinger: NodeJS.Timeout | undefined
    const lose = (reason: string) => {
      if (pinger) clearInterval(pinger)
      pinger = undefined
      s.destroy()
      if (!held) { out({ ev: 'conn', ...info, ok: false, err: reason, t1: now() }); resolve(); return }
      if (info.lostAt || stopping) return
      info.lostAt = now()
      lost++
      out({ ev: 'lost', ...info, t: info.lostAt, reason })
    }
    const t0 = now()
    const timer = setTimeout(() => setImmediate(() => { if (!held) lose('timeout') }), timeoutMs)
    s.on('connect', () => { info.sport = s.localPort; s.write('WHO\n') })
    s.on('data', (d) => {
      buf += d.toString()
      let k: number
      while ((k = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, k)
        buf = buf.slice(k + 1)
        if (!held) {
          clearTimeout(timer)
          try {
            const w = JSON.parse(line) as { be: string; peer: string }
            info = { ...info, t0, be: w.be, peer: w.peer }
          } catch { lose('bad-answer'); return }
          held = true
          open++
          out({ ev: 'held', ...info, t1: now() })
          resolve()
          // Checked after the poll phase too, so PONGs that arrived during a stall of this client count.
          pinger = setInterval(() => setImmediate(() => {
            if (!pinger) return
            if (performance.now() - lastPong > pingMs + timeoutMs) { lose('pong-timeout'); return }
            s.write(`PING ${seq++}\n`)
          }), pingMs)
        } else if (line.startsWith('PONG')) { lastPong = performance.now(); pongs++ }
      }
    })
    s.on('error', (e: NodeJS.ErrnoException) => lose(e.code ?? e.message))
    s.on('close', () => lose('closed'))
  })
  // Open in small batches so a SYN burst does not skew the rehash picture.
  for (let i = 0; i < count; i += 50) await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, k) => one(i + k)))
  out({ ev: 'ready', t: now(), open })
  // Progress, so a drill can wait until every connection has been exercised again.
  const ticker = setInterval(() => out({ ev: 'tick', t: now(), pongs, alive: open - lost }), pingMs)
  await stopped(durationMs)
  clearInterval(ticker)
  stopping = true
  for (const s of socks) s.destroy()
  out({ ev: 'done', t: now(), count, open, lost, ...lagMs() })
}

// How late this client's own event loop ran (a busy machine): reported with "done" so a drill can
// tell a slow load generator from a slow lab.
const lag = monitorEventLoopDelay({ resolution: 10 })
lag.enable()
function lagMs(): Record<string, number> { return { lagMaxMs: Math.round(lag.max / 1e5) / 10, lagP99Ms: Math.round(lag.percentile(99) / 1e5) / 10 } }

const modes: Record<string, () => Promise<void>> = { burst, steady, hold }
if (!vip || !modes[mode]) {
  console.error('usage: load.ts burst|steady|hold --vip IP [options]')
  process.exit(2)
}
await modes[mode]()
process.exit(0)
