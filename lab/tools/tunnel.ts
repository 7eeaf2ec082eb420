// One client tunnel through a CONNECT proxy, as the lab's load generator (load.ts --sites) makes it:
// connect to the balancer (vip:port, from a chosen source address), send
// "CONNECT site HTTP/1.1" + Host, read the proxy's answer head (status, X-Backend: the proxy,
// X-Peer: the l4lb node it saw), then on 200 send "WHO" through the tunnel and read the origin's
// one-line answer ({"be":"origin","peer":<the proxy's address>}): proof the tunnel reached it.
import net from 'node:net'

export interface TunnelResult {
  i: number; src?: string; sport?: number; site: string; t0: number; t1?: number; ok: boolean
  status?: number; be?: string; peer?: string; origin?: string; originPeer?: string; err?: string
}

const HEAD_MAX = 4096

/** One tunnel; resolves (never rejects) with ok = status 200 and an origin answer within timeoutMs. `now` gives wall-clock ms. */
export function tunnelConn(i: number, vip: string, port: number, src: string | undefined, site: string, timeoutMs: number, now: () => number): Promise<TunnelResult> {
  const c: TunnelResult = { i, src, site, t0: now(), ok: false }
  return new Promise((resolve) => {
    const s = net.connect({ host: vip, port, localAddress: src })
    s.setNoDelay(true)
    let buf = ''
    let inTunnel = false
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
    // Checked after the poll phase, as load.ts's short connections: a stall of this client is no failure.
    const timer = setTimeout(() => setImmediate(() => finish('timeout')), timeoutMs)
    s.on('connect', () => { c.sport = s.localPort; s.write(`CONNECT ${site} HTTP/1.1\r\nHost: ${site}\r\n\r\n`) })
    s.on('data', (d) => {
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
    s.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message))
    s.on('close', () => finish('closed'))
  })
}
