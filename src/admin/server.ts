// The admin HTTP server (primary process only): authentication, routing and
// error mapping around handlers.ts. Contract in docs/admin-api.md.
//
// startAdminServer resolves once listening with the bound port (config port 0
// picks a free one) and rejects if the config is unsafe (non-loopback bind
// without a token) or the address cannot be bound.
//
// Bounded against misbehaving clients: headers must arrive within
// headersTimeoutMs and the whole request within requestTimeoutMs (so a
// slowloris cannot pin a socket), bodies over 4 KiB get 413, and at most
// maxConnections sockets are open at once.
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import type { AdminConfig } from '../config/types.ts'
import type { AdminModel } from './model.ts'
import { adminAuthProblem, authorized, requiredToken } from './auth.ts'
import { matchRoute } from './routes.ts'
import { handle, type HandlerContext } from './handlers.ts'
import { BodyError, peerOf, sendError } from './http-util.ts'
import { createMetrics } from '../metrics/registry.ts'
import { CODES } from '../errors.ts'

export interface AdminServerOptions {
  readonly headersTimeoutMs?: number // default 5000
  readonly requestTimeoutMs?: number // default 10000
  readonly keepAliveTimeoutMs?: number // default 5000
  readonly maxConnections?: number // default 64
  readonly processMetrics?: boolean // include prom-client default metrics; default true
  /** The admin settings in force now (a reload may rotate admin.token); default: the `config` it started with. */
  readonly current?: () => AdminConfig
}

export interface AdminServer {
  readonly host: string
  readonly port: number
  /** Stop listening and cut open admin connections (status pages, scrapers). */
  close(): Promise<void>
}

export async function startAdminServer(
  config: AdminConfig,
  model: AdminModel,
  log: Logger,
  opts: AdminServerOptions = {},
): Promise<AdminServer> {
  const problem = adminAuthProblem(config)
  if (problem !== null) throw new Error(problem)
  const token = (): string | null => requiredToken(opts.current?.() ?? config)
  const ctx: HandlerContext = {
    model,
    log,
    metrics: createMetrics(model, { processMetrics: opts.processMetrics }),
  }
  const headersTimeout = opts.headersTimeoutMs ?? 5000
  const requestTimeout = Math.max(opts.requestTimeoutMs ?? 10_000, headersTimeout)

  const server = http.createServer(
    {
      headersTimeout,
      requestTimeout,
      keepAliveTimeout: opts.keepAliveTimeoutMs ?? 5000,
      // how often node looks for requests past their timeouts (default 30 s)
      connectionsCheckingInterval: Math.min(1000, headersTimeout),
      maxHeaderSize: 8192,
    },
    (req, res) => {
      // The idle timeout below is for sockets with no request in flight: a handler that takes
      // long (a reload of a large config parses for seconds) must not lose its answer to it.
      req.socket.setTimeout(0)
      res.once('finish', () => req.socket.setTimeout(requestTimeout))
      onRequest(ctx, token, req, res).catch((err: unknown) => {
        log.error({ err, peer: peerOf(req), url: req.url }, 'admin: request failed')
        if (!res.headersSent) sendError(res, 500, 'internal error')
        else res.destroy()
      })
    },
  )
  server.maxConnections = opts.maxConnections ?? 64
  // idle sockets (no request in flight) are closed after this
  server.setTimeout(requestTimeout)

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host: config.bind.host, port: config.bind.port }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  server.on('error', (err) => log.error({ err }, 'admin: server error'))
  const addr = server.address() as AddressInfo
  log.info({ host: addr.address, port: addr.port, token: token() !== null }, 'admin: listening')

  let closing: Promise<void> | null = null
  return {
    host: addr.address,
    port: addr.port,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return closing
    },
  }
}

async function onRequest(
  ctx: HandlerContext,
  token: () => string | null,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const method = req.method ?? 'GET'
  let url: URL
  try {
    url = new URL(req.url ?? '/', 'http://admin.invalid')
  } catch {
    sendError(res, 400, 'malformed request target')
    return
  }
  const match = matchRoute(method, url.pathname)
  // The page shell is public: it holds no state and fetches /status with the token.
  const isPage = match.ok && match.route.kind === 'page'
  if (!isPage && !authorized(req.headers.authorization, token())) {
    ctx.log.warn({ code: CODES.LB_ERR_ADMIN_AUTH, peer: peerOf(req), method, path: url.pathname }, 'admin: unauthorized request')
    sendError(res, 401, 'missing or wrong bearer token', { 'www-authenticate': 'Bearer realm="l4lb"' })
    return
  }
  if (!match.ok) {
    sendError(res, match.status, match.error, match.allow === undefined ? {} : { allow: match.allow })
    return
  }
  try {
    await handle(ctx, match.route, url, req, res)
  } catch (err) {
    if (!(err instanceof BodyError)) throw err
    // 413: the rest of the body is not read; close rather than drain it
    const extra: Record<string, string> = err.status === 413 ? { connection: 'close' } : {}
    if (!res.headersSent) sendError(res, err.status, err.message, extra)
  }
}
