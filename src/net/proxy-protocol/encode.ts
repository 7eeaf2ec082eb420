// PROXY protocol encoders, used when a pool has `send-proxy: v1|v2`.
//
// Both take the client's address and port (src) and the address and port it
// connected to (dst), as Node reports them (socket.remoteAddress / localAddress).
// IPv4-mapped IPv6 ("::ffff:a.b.c.d") is sent as IPv4. When the two families
// differ, or an address or port is not valid, the header says "unknown"
// (v1 "PROXY UNKNOWN", v2 PROXY + AF_UNSPEC): the backend then uses the real
// connection endpoints. Never throws.
import { formatIPv4, formatIPv6, isMappedV4, parseIPv4, parseIPv6 } from '../ip.ts'
import { V2_SIGNATURE } from './types.ts'

/** The 16-byte v2 LOCAL header health checks send to `send-proxy: v2` backends. Do not mutate. */
export const PROXY_V2_LOCAL: Buffer = Buffer.concat([V2_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])])

/**
 * v1 has no LOCAL command; "PROXY UNKNOWN\r\n" is its equivalent (the backend
 * uses the real endpoints). Health checks to `send-proxy: v1` backends send this. Do not mutate.
 */
export const PROXY_V1_UNKNOWN: Buffer = Buffer.from('PROXY UNKNOWN\r\n', 'latin1')

/**
 * The header a health check sends first to a backend, in the version the data
 * path speaks to it (`send-proxy`): v1 -> "PROXY UNKNOWN\r\n", v2 -> LOCAL,
 * none -> null (nothing). A v1-only receiver cannot parse a v2 header and a
 * v2-only one cannot parse v1, so a check in the other version marks down a
 * backend that serves clients (HAProxy: `check-send-proxy` follows the
 * server's `send-proxy`/`send-proxy-v2`). Shared buffers: do not mutate.
 */
export function probeHeader(version: 'none' | 'v1' | 'v2'): Buffer | null {
  return version === 'v1' ? PROXY_V1_UNKNOWN : version === 'v2' ? PROXY_V2_LOCAL : null
}
const V2_PROXY_UNSPEC: Buffer = Buffer.concat([V2_SIGNATURE, Buffer.from([0x21, 0x00, 0x00, 0x00])])

/** An address reduced to IPv4 (a uint32) or IPv6 (eight groups), or null. */
type Addr = { v4: number; v6: null } | { v4: -1; v6: Uint16Array }

function toAddr(address: string): Addr | null {
  const v4 = parseIPv4(address)
  if (v4 >= 0) return { v4, v6: null }
  const pct = address.indexOf('%') // link-local scope id: not part of the address
  const text = pct >= 0 ? address.slice(0, pct) : address
  const g = new Uint16Array(8)
  if (!parseIPv6(text, g)) return null
  if (isMappedV4(g)) return { v4: g[6] * 65536 + g[7], v6: null }
  return { v4: -1, v6: g }
}

function validPort(p: number): boolean {
  return Number.isInteger(p) && p >= 0 && p <= 65535
}

/** The pair as one family, or null for "unknown". */
function pair(src: string, srcPort: number, dst: string, dstPort: number): [Addr, Addr] | null {
  if (!validPort(srcPort) || !validPort(dstPort)) return null
  const a = toAddr(src)
  const b = toAddr(dst)
  if (a === null || b === null) return null
  if ((a.v6 === null) !== (b.v6 === null)) return null
  return [a, b]
}

/** v1 text header, e.g. "PROXY TCP4 10.0.0.1 10.0.0.2 51000 443\r\n" (latin1 bytes). */
export function encodeProxyV1(src: string, srcPort: number, dst: string, dstPort: number): Buffer {
  const p = pair(src, srcPort, dst, dstPort)
  if (p === null) return Buffer.from(PROXY_V1_UNKNOWN)
  const [a, b] = p
  const line =
    a.v6 === null
      ? `PROXY TCP4 ${formatIPv4(a.v4)} ${formatIPv4(b.v4)} ${srcPort} ${dstPort}\r\n`
      : `PROXY TCP6 ${formatIPv6(a.v6)} ${formatIPv6(b.v6 as Uint16Array)} ${srcPort} ${dstPort}\r\n`
  return Buffer.from(line, 'latin1')
}

/** v2 binary header: PROXY command, AF_INET or AF_INET6 over STREAM, no TLVs. */
export function encodeProxyV2(src: string, srcPort: number, dst: string, dstPort: number): Buffer {
  const p = pair(src, srcPort, dst, dstPort)
  if (p === null) return Buffer.from(V2_PROXY_UNSPEC)
  const [a, b] = p
  const v4 = a.v6 === null
  const block = v4 ? 12 : 36
  const out = Buffer.alloc(16 + block)
  V2_SIGNATURE.copy(out, 0)
  out[12] = 0x21
  out[13] = v4 ? 0x11 : 0x21
  out.writeUInt16BE(block, 14)
  if (v4) {
    out.writeUInt32BE(a.v4, 16)
    out.writeUInt32BE(b.v4, 20)
  } else {
    const ga = a.v6 as Uint16Array
    const gb = b.v6 as Uint16Array
    for (let i = 0; i < 8; i++) {
      out.writeUInt16BE(ga[i], 16 + 2 * i)
      out.writeUInt16BE(gb[i], 32 + 2 * i)
    }
  }
  out.writeUInt16BE(srcPort, v4 ? 24 : 48)
  out.writeUInt16BE(dstPort, v4 ? 26 : 50)
  return out
}
