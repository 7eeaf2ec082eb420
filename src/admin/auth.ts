// Who may talk to the admin server. The rule (docs/admin-api.md#authentication):
// - bound to a loopback address and no token configured: open (local users only);
// - a token configured: every request must carry `Authorization: Bearer <token>`,
//   wherever the server is bound;
// - bound anywhere else without a token: refused at start (adminAuthProblem).
// Tokens are compared in constant time over their SHA-256 digests, so neither
// the content nor the length of the configured token leaks through timing.
import { createHash, timingSafeEqual } from 'node:crypto'
import type { AdminConfig } from '../config/types.ts'
import { isLoopback } from '../net/ip.ts'

// One loopback test for the config check and the admin server (any spelling of the address).
export { isLoopback }

/** The token every request must present, or null when requests are open. */
export function requiredToken(config: AdminConfig): string | null {
  return config.token !== null && config.token !== '' ? config.token : null
}

/** Why this admin config must not be started, or null when it is acceptable. */
export function adminAuthProblem(config: AdminConfig): string | null {
  if (requiredToken(config) === null && !isLoopback(config.bind.host)) {
    return `admin.bind ${config.bind.host} is not a loopback address: admin.token is required`
  }
  return null
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest()
}

/**
 * Check an Authorization header value against the required token.
 * Returns true when `token` is null (open) or the header is `Bearer <token>`.
 */
export function authorized(header: string | undefined, token: string | null): boolean {
  if (token === null) return true
  if (header === undefined) return false
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)
  // compare something even when the scheme is wrong, so that path costs the same
  const presented = m === null ? '' : m[1]
  const ok = timingSafeEqual(digest(presented), digest(token))
  return ok && m !== null
}
