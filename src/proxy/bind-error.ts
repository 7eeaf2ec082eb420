// One wording for "this address cannot be bound", shared by the primary's
// start-up and reload checks and by the workers' own binds, so an operator
// reads the same sentence wherever the failure surfaced: which listener,
// which address, what the kernel said and what usually fixes it.

import { formatHostPort } from '../net/ip.ts'

const HINTS: Record<string, string> = {
  EADDRINUSE: 'the address is in use by another process',
  EACCES: 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)',
  EADDRNOTAVAIL: 'the address is not assigned to any interface of this host',
  EAFNOSUPPORT: 'this host does not support that address family',
}

/** What a BindError is about: a configured listener by name, or the admin API. */
export const listenerLabel = (name: string): string => `listener "${name}"`
export const ADMIN_LABEL = 'admin API'

/**
 * An Error whose message names what could not bind (`what`: listenerLabel(name)
 * or ADMIN_LABEL), the address, the errno (EADDRINUSE, EACCES, ...) and what
 * it usually means, e.g.
 * `listener "main" cannot bind 127.0.0.1:8080: the address is in use by another process (EADDRINUSE)`.
 */
export class BindError extends Error {
  readonly what: string
  readonly address: string
  readonly errno: string

  constructor(what: string, host: string, port: number, errno: string, detail?: string) {
    const address = formatHostPort(host, port)
    super(`${what} cannot bind ${address}: ${detail ?? HINTS[errno] ?? 'bind failed'} (${errno})`)
    this.name = 'BindError'
    this.what = what
    this.address = address
    this.errno = errno
  }

  /** Wrap an error from net.Server#listen. */
  static from(what: string, host: string, port: number, err: unknown): BindError {
    if (err instanceof BindError) return err
    const e = err as NodeJS.ErrnoException
    const errno = typeof e?.code === 'string' ? e.code : 'EUNKNOWN'
    return new BindError(what, host, port, errno, HINTS[errno] ?? e?.message)
  }
}
