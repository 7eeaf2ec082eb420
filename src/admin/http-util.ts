// Small HTTP helpers for the admin server: JSON replies, `{ "error": ... }`
// bodies and a bounded body reader. Every reply is `Cache-Control: no-store`
// (status changes every second) and `nosniff`.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { formatHostPort } from '../net/ip.ts'

export const MAX_BODY_BYTES = 4096

const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const

export function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...COMMON_HEADERS,
    'content-type': contentType,
    'content-length': String(Buffer.byteLength(body)),
    ...extra,
  })
  res.end(body)
}

export function sendJson(res: ServerResponse, status: number, doc: unknown, extra: Record<string, string> = {}): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(doc) + '\n', extra)
}

export function sendError(res: ServerResponse, status: number, error: string, extra: Record<string, string> = {}): void {
  sendJson(res, status, { error }, extra)
}

/** Thrown by readBody; the server maps `status` (400 or 413) onto the reply. */
export class BodyError extends Error {
  readonly status: number
  constructor(status: number, message: string) {
    super(message)
    this.status = status
  }
}

/**
 * Read a request body of at most `limit` bytes as UTF-8. Rejects with
 * BodyError(413) as soon as the declared or received length exceeds the
 * limit (without reading the rest), BodyError(400) if the client aborts.
 * The server's requestTimeout bounds how long a slow body may take.
 */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? '0')
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new BodyError(413, `body over ${limit} bytes`))
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    const finish = (err: BodyError | null): void => {
      if (done) return
      done = true
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onAbort)
      req.off('aborted', onAbort)
      if (err !== null) reject(err)
      else resolve(Buffer.concat(chunks).toString('utf8'))
    }
    const onData = (chunk: Buffer): void => {
      size += chunk.length
      if (size > limit) {
        req.pause()
        finish(new BodyError(413, `body over ${limit} bytes`))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = (): void => finish(null)
    const onAbort = (): void => finish(new BodyError(400, 'request body aborted'))
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onAbort)
    req.on('aborted', onAbort)
  })
}

/** Peer address for logs: "ip:port", or "unknown" once the socket is gone. */
export function peerOf(req: IncomingMessage): string {
  const s = req.socket
  if (s.remoteAddress === undefined) return 'unknown'
  return formatHostPort(s.remoteAddress, s.remotePort ?? 0)
}
