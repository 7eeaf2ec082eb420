// One client tunnel through a CONNECT proxy, as the lab's load generator (load.ts --sites) makes it:
// connect to the balancer (vip:port, from a chosen source address), send
// "CONNECT site HTTP/1.1" + Host, read the proxy's answer head (status, X-Backend: the proxy,
// X-Peer: the l4lb node it saw), then on 200 send "WHO" through the tunnel and read the origin's
// one-line answer ({"be":"origin","peer":<the proxy's address>}): proof the tunnel reached it.
import net from 'node:net'

export interface TunnelResult extends ShortResult {
  site: string
  status?: number; be?: string; peer?: string; origin?: string; originPeer?: string
}

const HEAD_MAX = 4096

/** What every short client connection records (load.ts's WHO connections, tunnels). */
export interface ShortResult { i: number; src?: string; sport?: number; t0: number; t1?: number; ok: boolean; err?: string }

/**
 * One short client connection to vip:port from `src`: `greeting` is written on connect, each
 * chunk read goes to `onData` with `finish` (no reason: done, the caller set c.ok; a reason: failed).
 * Also finished by an error, the close, or `timeoutMs`; the deadline is checked after the poll
 * phase (setImmediate), so when this client's own event loop was stalled (a busy machine), an
 * answer that already arrived is read first and a stall of the load generator is no failure.
 * Resolves with `c` (t1 and err set), never rejects. `now` gives wall-clock ms.
 */
export function shortConnection<C extends ShortResult>(c: C, vip: string, port: number, timeoutMs: number, now: () => number,
  greeting: string, onData: (chunk: Buffer, finish: (err?: string) => void, sock: net.Socket) => void): Promise<C> {
  return new Promise((resolve) => {
    const s = net.connect({ host: vip, port, localAddress: c.src })
    s.setNoDelay(true)
    let done = false
    const finish = (err?: string) => {
      if (done) return
      done = true
      clearTimeout(timer)
      c.t1 = now()
      if (err) c.err = err
      s.destroy()
      resolve(c)
    }
    const timer = setTimeout(() => setImmediate(() => finish('timeout')), timeoutMs)
    s.on('connect', () => { c.sport = s.localPort; s.write(greeting) })
    s.on('data', (d) => onData(d, finish, s))
    s.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message))
    s.on('close', () => finish('closed'))
  })
}

/** One tunnel; resolves (never rejects) with ok = status 200 and an origin answer within timeoutMs. `now` gives wall-clock ms. */
export function tunnelConn(i: number, vip: string, port: number, src: string | undefined, site: string, timeoutMs: number, now: () => number): Promise<TunnelResult> {
  const c: TunnelResult = { i, src, site, t0: now(), ok: false }
  let buf = ''
  let inTunnel = false
  return shortConnection(c, vip, port, timeoutMs, now, `CONNECT ${site} HTTP/1.1\r\nHost: ${site}\r\n\r\n`, (d, finish, s) => {
    buf += d.toString('latin1')
    if (!inTunnel) {
      const end = buf.indexOf('\r\n\r\n')
      if (end < 0) { if (buf.length > HEAD_MAX) finish('bad-answer'); return }
      const head = buf.slice(0, end).split('\r\n')
      buf = buf.slice(end + 4)
      c.status = Number(/^HTTP\/1\.\d (\d{3})/.exec(head[0])?.[1] ?? 0)
      for (const h of head.slice(1)) {
        const m = /^([\w-]+):\s*(.*)$/.exec(h)
        if (m?.[1].toLowerCase() === 'x-backend') c.be = m[2]
        if (m?.[1].toLowerCase() === 'x-peer') c.peer = m[2]
      }
      if (c.status !== 200) { finish(`status-${c.status}`); return }
      inTunnel = true
      s.write('WHO\n')
    }
    const k = buf.indexOf('\n')
    if (k < 0) return
    try {
      const w = JSON.parse(buf.slice(0, k)) as { be: string; peer: string }
      c.origin = w.be; c.originPeer = w.peer; c.ok = true
      finish()
    } catch { finish('bad-origin-answer') }
  })
}
