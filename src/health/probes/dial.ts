// The socket work shared by every probe: dial with a hard timeout, send first
// the PROXY header the data path's version calls for (backend.sendProxy: v1 ->
// "PROXY UNKNOWN\r\n", v2 -> LOCAL, none -> nothing), optionally send a request
// and judge the first response line, then destroy the socket. Resolves exactly
// once, never rejects.
//
// Same as the data path (src/proxy/session.ts) for one backend: the address
// (host as configured, resolved by Node's lookup with the same defaults, no
// source address bound), the PROXY version, Nagle off, and the connect phase
// bounded by timeouts.connect (dataPath.connectMs) when that is shorter than
// the check's own timeout (HAProxy likewise bounds a check's connect by
// `timeout connect`).
//
// Details, in HAProxy's spirit (doc/configuration.txt, "check status"):
//   L4OK                 connected (tcp probe)
//   L4TOUT               no connection within timeoutMs
//   L4CON <code>         connection failed (ECONNREFUSED, EHOSTUNREACH, ENOTFOUND...)
//   L7TOUT               connected, no complete status line within timeoutMs
//   L7RSP <why>          connected, but the reply is unusable ("bad status line",
//                        "connection closed", "ECONNRESET")
//   <judge's detail>     e.g. "L7OK 200", "L7STS 503", "CONNECT 502"
//   aborted              the checker stopped (signal)
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import type { BackendConfig, HealthConfig } from '../../config/types.ts'
import { probeHeader } from '../../net/proxy-protocol/encode.ts'
import { formatHostPort } from '../../net/ip.ts'
import type { DataPathSettings, ProbeResult } from '../types.ts'

/** The most we read looking for the first line; a longer line is a bad reply. */
export const MAX_STATUS_LINE = 1024

export interface Verdict {
  readonly ok: boolean
  readonly detail: string
}

export interface Exchange {
  /** Bytes sent after connecting (after the PROXY header, in the same write). */
  readonly request: string
  /** Judge the first response line (without CR/LF). */
  readonly judge: (line: string) => Verdict
}

/**
 * Dial `backend` and, with `exchange`, talk; without it, success is the connection
 * itself (plus the PROXY header flushed, when one is due). Resolves within
 * health.timeoutMs; L4TOUT after min(health.timeoutMs, dataPath.connectMs)
 * without a connection.
 */
export function dial(
  backend: BackendConfig,
  health: HealthConfig,
  exchange: Exchange | null,
  signal?: AbortSignal,
  dataPath?: DataPathSettings,
): Promise<ProbeResult> {
  const started = performance.now()
  return new Promise<ProbeResult>((resolve) => {
    let done = false
    let connected = false
    let received = ''
    const proxyHeader = probeHeader(backend.sendProxy)
    const sock = new net.Socket()

    const finish = (v: Verdict): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      clearTimeout(connectTimer)
      signal?.removeEventListener('abort', onAbort)
      sock.destroy()
      resolve({ ok: v.ok, detail: v.detail, durationMs: performance.now() - started })
    }
    const onAbort = (): void => finish({ ok: false, detail: 'aborted' })
    const timer = setTimeout(
      () => finish({ ok: false, detail: connected ? 'L7TOUT' : 'L4TOUT' }),
      Math.max(1, health.timeoutMs),
    )
    const connectMs = dataPath?.connectMs ?? Infinity
    const connectTimer = connectMs < health.timeoutMs
      ? setTimeout(() => finish({ ok: false, detail: 'L4TOUT' }), Math.max(1, connectMs))
      : undefined
    if (signal?.aborted) return onAbort()
    signal?.addEventListener('abort', onAbort, { once: true })

    sock.on('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? err.message
      finish({ ok: false, detail: connected ? `L7RSP ${code}` : `L4CON ${code}` })
    })
    sock.on('close', () => finish({ ok: false, detail: connected ? 'L7RSP connection closed' : 'L4CON closed' }))
    sock.on('end', () => finish({ ok: false, detail: 'L7RSP connection closed' }))
    sock.on('data', (chunk: Buffer) => {
      if (!exchange) return
      received += chunk.toString('latin1')
      const eol = received.indexOf('\n')
      if (eol === -1) {
        if (received.length > MAX_STATUS_LINE) finish({ ok: false, detail: 'L7RSP bad status line' })
        return
      }
      finish(exchange.judge(received.slice(0, eol).replace(/\r$/, '')))
    })
    sock.on('connect', () => {
      connected = true
      clearTimeout(connectTimer)
      const payload = exchange ? Buffer.from(exchange.request, 'latin1') : null
      const out = proxyHeader && payload ? Buffer.concat([proxyHeader, payload]) : (proxyHeader ?? payload)
      if (!exchange) {
        // tcp: connected is the answer; with a PROXY header, once it is handed to the kernel.
        if (!out) return finish({ ok: true, detail: 'L4OK' })
        sock.write(out, (err) => finish(err ? { ok: false, detail: `L4CON ${errCode(err)}` } : { ok: true, detail: 'L4OK' }))
        return
      }
      if (out) sock.write(out)
    })
    sock.setNoDelay(true)
    sock.connect({ host: backend.host, port: backend.port })
  })
}

/** Parse "HTTP/1.x NNN reason"; null when the line is not a status line. */
export function parseStatusLine(line: string): number | null {
  const m = /^HTTP\/\d\.\d (\d{3})(?: |$)/.exec(line)
  return m ? Number(m[1]) : null
}

/** host:port for a request line or Host header, bracketing IPv6 literals. */
export function authority(host: string, port: number): string {
  return formatHostPort(host, port)
}

function errCode(err: Error): string {
  return (err as NodeJS.ErrnoException).code ?? err.message
}
