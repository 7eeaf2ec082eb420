// Socket glue for listeners with `proxy-protocol.enabled`: read and strip the
// PROXY header from an accepted connection before it is spliced to a backend.
//
// readProxyHeader(socket, { timeoutMs, trusted }, done) calls done exactly
// once, always asynchronously, with
//   { ok: true, header, rest }  header parsed; `rest` holds the bytes that came
//                               after it in the same read (maybe empty); the
//                               socket is paused and any later bytes wait in it
//   { ok: false, code, reason } PROXY_UNTRUSTED (source not in `trusted`, checked
//                               before reading anything), PROXY_TIMEOUT (no full
//                               header within timeoutMs), PROXY_TRUNCATED (peer
//                               closed, ended or errored mid-header) or a parser
//                               error (PROXY_BAD_SIGNATURE, PROXY_BAD_HEADER, ...)
// Before done runs, every listener and timer it added is removed. It never
// destroys the socket and never throws: the caller closes the socket on
// failure and logs the reason, and must add its own 'error' listener in done.
import type net from 'node:net'
import { ProxyParser } from '../net/proxy-protocol/parser.ts'
import type { ProxyErrorCode, ProxyHeader } from '../net/proxy-protocol/types.ts'

export interface ProxyAcceptOptions {
  readonly timeoutMs: number
  readonly trusted: (address: string) => boolean
}

export type ProxyAcceptResult =
  | { readonly ok: true; readonly header: ProxyHeader; readonly rest: Buffer }
  | { readonly ok: false; readonly code: ProxyErrorCode; readonly reason: string }

export function readProxyHeader(
  socket: net.Socket,
  opts: ProxyAcceptOptions,
  done: (result: ProxyAcceptResult) => void,
): void {
  const source = socket.remoteAddress
  let trusted = false
  try {
    trusted = source !== undefined && opts.trusted(source)
  } catch {
    trusted = false // a failing matcher trusts no one
  }
  if (!trusted) {
    const reason = `source ${source ?? '(unknown)'} may not send a PROXY header`
    process.nextTick(done, { ok: false, code: 'PROXY_UNTRUSTED', reason })
    return
  }
  if (socket.destroyed || socket.readableEnded) {
    process.nextTick(done, { ok: false, code: 'PROXY_TRUNCATED', reason: 'peer closed before any byte' })
    return
  }

  const parser = new ProxyParser()
  let finished = false

  const finish = (result: ProxyAcceptResult): void => {
    if (finished) return
    finished = true
    socket.pause()
    clearTimeout(timer)
    socket.removeListener('data', onData)
    socket.removeListener('end', onEnd)
    socket.removeListener('close', onClose)
    socket.removeListener('error', onError)
    done(result)
  }
  const truncated = (why: string): void => {
    const r = parser.end()
    if (r.status === 'error') finish({ ok: false, code: r.code, reason: `${r.reason} (${why})` })
  }
  const onData = (chunk: Buffer): void => {
    const r = parser.push(chunk)
    if (r.status === 'done') finish({ ok: true, header: r.header, rest: r.rest })
    else if (r.status === 'error') finish({ ok: false, code: r.code, reason: r.reason })
  }
  const onEnd = (): void => truncated('end')
  const onClose = (): void => truncated('close')
  const onError = (err: NodeJS.ErrnoException): void => truncated(`error ${err.code ?? err.message}`)
  const onTimeout = (): void => {
    finish({
      ok: false,
      code: 'PROXY_TIMEOUT',
      reason: `no complete PROXY header within ${opts.timeoutMs}ms (${parser.consumed} bytes read)`,
    })
  }

  const timer = setTimeout(onTimeout, opts.timeoutMs)
  socket.on('data', onData)
  socket.on('end', onEnd)
  socket.on('close', onClose)
  socket.on('error', onError)
}
