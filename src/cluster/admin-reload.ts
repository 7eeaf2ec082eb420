// What a reload may change in the admin section. The token is read on every
// request, so a reload rotates it at once (the old one stops working). The
// admin API's address cannot move under the request that asked for the
// reload: a reload that changes admin.enabled or admin.bind is rejected with
// this reason rather than applied in part (the running API would no longer
// be what the config and /status say).
import type { AdminConfig } from '../config/types.ts'
import { formatHostPort } from '../net/ip.ts'

/** Why `next` cannot replace `running` by a reload, or null when it can. */
export function adminReloadProblem(running: AdminConfig, next: AdminConfig): string | null {
  if (running.enabled !== next.enabled) {
    return `admin.enabled: the admin API cannot be turned ${next.enabled ? 'on' : 'off'} by a reload; restart l4lb to change it`
  }
  if (running.enabled && (running.bind.host !== next.bind.host || running.bind.port !== next.bind.port)) {
    const was = formatHostPort(running.bind.host, running.bind.port)
    return `admin.bind: the admin API cannot move from ${was} to ${formatHostPort(next.bind.host, next.bind.port)} by a reload; keep ${was} or restart l4lb`
  }
  return null
}
