// Path + method -> route, with no I/O so it can be table-tested. A path that
// matches but with the wrong method gives `method-not-allowed` and the Allow
// list; a path that matches nothing gives `not-found`. Backend ids are one
// percent-encoded path segment (`10.0.0.1%3A3128` or plain `10.0.0.1:3128`).
import type { AdminState } from '../health/types.ts'

export type Route =
  | { readonly kind: 'page' }
  | { readonly kind: 'status' }
  | { readonly kind: 'history' }
  | { readonly kind: 'metrics' }
  | { readonly kind: 'healthz' }
  | { readonly kind: 'reload' }
  | { readonly kind: 'set-state'; readonly id: string; readonly state: AdminState }
  | { readonly kind: 'set-weight'; readonly id: string }

export type RouteMatch =
  | { readonly ok: true; readonly route: Route }
  | { readonly ok: false; readonly status: 404 | 405 | 400; readonly error: string; readonly allow?: string }

const GET = ['GET', 'HEAD']
const POST = ['POST']

const STATIC: Record<string, { readonly methods: readonly string[]; readonly route: Route }> = {
  '/': { methods: GET, route: { kind: 'page' } },
  '/status': { methods: GET, route: { kind: 'status' } },
  '/history': { methods: GET, route: { kind: 'history' } },
  '/metrics': { methods: GET, route: { kind: 'metrics' } },
  '/healthz': { methods: GET, route: { kind: 'healthz' } },
  '/reload': { methods: POST, route: { kind: 'reload' } },
}

const BACKEND_PATH = /^\/backends\/([^/]+)\/(ready|drain|maint|weight)$/

function allowed(method: string, methods: readonly string[], route: Route): RouteMatch {
  if (methods.includes(method)) return { ok: true, route }
  return { ok: false, status: 405, error: `method ${method} not allowed`, allow: methods.join(', ') }
}

/** Match `pathname` (no query string) and `method`; never throws. */
export function matchRoute(method: string, pathname: string): RouteMatch {
  const fixed = STATIC[pathname]
  if (fixed !== undefined) return allowed(method, fixed.methods, fixed.route)
  const m = BACKEND_PATH.exec(pathname)
  if (m === null) return { ok: false, status: 404, error: `no such endpoint: ${pathname}` }
  let id: string
  try {
    id = decodeURIComponent(m[1])
  } catch {
    return { ok: false, status: 400, error: 'backend id is not valid percent-encoding' }
  }
  if (id === '') return { ok: false, status: 404, error: `no such endpoint: ${pathname}` }
  const action = m[2]
  const route: Route =
    action === 'weight' ? { kind: 'set-weight', id } : { kind: 'set-state', id, state: action as AdminState }
  return allowed(method, POST, route)
}
