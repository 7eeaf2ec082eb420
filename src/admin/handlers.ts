// One function per admin route: read the model, reply. Authentication, routing
// and error mapping happen before (server.ts). Runtime changes are logged at
// info with the peer that asked; refused changes at warn.
// Result mapping: 'not-found' -> 404, 'ambiguous' -> 409, bad input -> 400,
// rejected reload -> 422 with every error.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import type { AdminModel, MutationResult } from './model.ts'
import type { Route } from './routes.ts'
import type { MetricsRenderer } from '../metrics/registry.ts'
import { STATUS_PAGE_CSP, statusPageHtml } from './status-page.ts'
import { peerOf, readBody, send, sendError, sendJson } from './http-util.ts'
import { CODES } from '../errors.ts'

export interface HandlerContext {
  readonly model: AdminModel
  readonly metrics: MetricsRenderer
  readonly log: Logger
}

export const MAX_WEIGHT = 256

/**
 * Parse a weight body: a JSON object `{"weight": N}` with N an integer 0..256.
 * Returns the weight, or a string saying what is wrong.
 */
export function parseWeightBody(body: string): number | string {
  let doc: unknown
  try {
    doc = JSON.parse(body)
  } catch {
    return 'body is not valid JSON'
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'body must be a JSON object {"weight": N}'
  const keys = Object.keys(doc)
  const extra = keys.filter((k) => k !== 'weight')
  if (extra.length > 0) return `unknown key ${JSON.stringify(extra[0])} (only "weight")`
  const w = (doc as { weight?: unknown }).weight
  if (w === undefined) return 'missing "weight"'
  if (typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w > MAX_WEIGHT) {
    return `weight must be an integer 0..${MAX_WEIGHT}`
  }
  return w
}

/** The ?pool= value: undefined when absent, a string (possibly invalid) otherwise. */
function poolParam(url: URL): string | undefined | Error {
  const all = url.searchParams.getAll('pool')
  if (all.length === 0) return undefined
  if (all.length > 1 || all[0] === '') return new Error('give at most one non-empty ?pool=')
  return all[0]
}

function mutationReply(
  ctx: HandlerContext,
  req: IncomingMessage,
  res: ServerResponse,
  result: MutationResult,
  what: Record<string, unknown>,
): void {
  const peer = peerOf(req)
  const id = String(what.backend)
  if (result === 'ok') {
    ctx.log.info({ peer, ...what }, 'admin: runtime change applied')
    sendJson(res, 200, { ok: true, ...what })
  } else if (result === 'not-found') {
    ctx.log.warn({ peer, ...what }, 'admin: runtime change for unknown backend')
    const where = what.pool === undefined ? '' : ` in pool ${JSON.stringify(what.pool)}`
    sendError(res, 404, `no backend ${JSON.stringify(id)}${where}`)
  } else {
    ctx.log.warn({ peer, ...what }, 'admin: runtime change for ambiguous backend id')
    sendError(res, 409, `backend ${JSON.stringify(id)} is in several pools: add ?pool=NAME`)
  }
}

/** Handle a matched, authorised request. Rejections inside are answered, never thrown. */
export async function handle(
  ctx: HandlerContext,
  route: Route,
  url: URL,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  switch (route.kind) {
    case 'page':
      send(res, 200, 'text/html; charset=utf-8', statusPageHtml(), {
        'content-security-policy': STATUS_PAGE_CSP,
        'x-frame-options': 'DENY',
      })
      return
    case 'status':
      sendJson(res, 200, ctx.model.status())
      return
    case 'history':
      sendJson(res, 200, ctx.model.history())
      return
    case 'healthz': {
      const h = ctx.model.healthz()
      sendJson(res, h.ok ? 200 : 503, { ok: h.ok, reason: h.reason })
      return
    }
    case 'metrics':
      send(res, 200, ctx.metrics.contentType, await ctx.metrics.render())
      return
    case 'reload': {
      await readBody(req) // drained and bounded; content ignored
      const peer = peerOf(req)
      ctx.log.info({ peer }, 'admin: reload requested')
      const r = await ctx.model.reload()
      if (r.ok) {
        ctx.log.info({ peer }, 'admin: reload applied')
        sendJson(res, 200, { ok: true })
      } else {
        ctx.log.warn({ peer, errors: r.errors }, 'admin: reload rejected, previous config kept')
        sendJson(res, 422, { ok: false, code: CODES.LB_ERR_RELOAD_REJECTED, error: 'config rejected; previous config kept', errors: r.errors })
      }
      return
    }
    case 'set-state': {
      await readBody(req) // no body expected; read (bounded) so keep-alive stays usable
      const pool = poolParam(url)
      if (pool instanceof Error) return sendError(res, 400, pool.message)
      const result = ctx.model.setState(route.id, route.state, pool)
      mutationReply(ctx, req, res, result, { backend: route.id, pool, state: route.state })
      return
    }
    case 'set-weight': {
      const pool = poolParam(url)
      const body = await readBody(req)
      if (pool instanceof Error) return sendError(res, 400, pool.message)
      const weight = parseWeightBody(body)
      if (typeof weight === 'string') return sendError(res, 400, weight)
      const result = ctx.model.setWeight(route.id, weight, pool)
      mutationReply(ctx, req, res, result, { backend: route.id, pool, weight })
      return
    }
  }
}
