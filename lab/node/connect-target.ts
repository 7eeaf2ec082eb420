// Pure helpers of the lab's CONNECT proxy (responder.ts): the request target of a CONNECT
// (RFC 9110 §9.3.6 authority-form, host:port) and the allow-list of networks it may reach.
// Tests: test/lab/connect-target.test.ts.
import net from 'node:net'

/** host and port of an authority-form target "host:port" (IPv6 in brackets); null when malformed or the port is not 1..65535. */
export function splitAuthority(target: string): { host: string; port: number } | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(target)
  if (!m) return null
  const port = Number(m[2])
  if (port < 1 || port > 65535) return null
  return { host: m[1].replace(/^\[|\]$/g, ''), port }
}

export interface Cidr { base: number; size: number }

function v4(addr: string): number {
  return addr.split('.').reduce((n, o) => n * 256 + Number(o), 0)
}

/** Comma-separated IPv4 CIDRs ("198.18.0.0/15,10.0.0.0/8") as ranges; throws on a malformed one. */
export function parseCidrs(list: string): Cidr[] {
  return list.split(',').map((s) => s.trim()).filter(Boolean).map((c) => {
    const [base, len] = c.split('/')
    const bits = Number(len ?? 32)
    if (!net.isIPv4(base) || !Number.isInteger(bits) || bits < 0 || bits > 32) throw new Error(`not an IPv4 CIDR: ${c}`)
    const size = 2 ** (32 - bits)
    return { base: v4(base) - (v4(base) % size), size }
  })
}

/** Whether IPv4 address `addr` lies in one of `cidrs` (anything else, IPv6 included, is not). */
export function allowed(addr: string, cidrs: Cidr[]): boolean {
  if (!net.isIPv4(addr)) return false
  const x = v4(addr)
  return cidrs.some((c) => x >= c.base && x < c.base + c.size)
}
