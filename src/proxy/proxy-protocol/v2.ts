// PROXY protocol v2 (binary): checks of the fixed 16 bytes as they arrive, and
// the parse of a complete header. Pure, never throws.
//
// Layout: 12-byte signature | ver<<4|cmd | family<<4|transport | length (BE16)
// | address block | TLVs. Accepted: version 2; command LOCAL (0) or PROXY (1).
// For PROXY, family/transport 0x00 (UNSPEC), 0x11 (TCP over IPv4) or 0x21
// (TCP over IPv6); 0x12, 0x22 (UDP), 0x31, 0x32 (UNIX) are PROXY_UNSUPPORTED;
// any other value is invalid. For LOCAL the spec says the family is ignored,
// so it is not checked and no address is reported. The length must cover the
// address block and be at most V2_MAX_PAYLOAD (else PROXY_TOO_LONG). TLVs are
// skipped, but for TCP4/TCP6 their framing (type, length) must fit exactly.
import { formatIPv4, formatIPv6 } from '../../net/ip.ts'
import type { ProxyErrorCode, ProxyHeader } from './types.ts'
import { V2_FIXED_LENGTH, V2_MAX_PAYLOAD } from './types.ts'

export interface V2Error {
  readonly status: 'error'
  readonly code: ProxyErrorCode
  readonly reason: string
}

function fail(code: ProxyErrorCode, reason: string): V2Error {
  return { status: 'error', code, reason: `v2: ${reason}` }
}

const VER_CMD = 12
const FAMILY = 13
const LENGTH = 14

/** Bytes of the address block for a family byte, or -1 when it is not one we accept. */
function addressBlock(fam: number): number {
  if (fam === 0x00) return 0
  if (fam === 0x11) return 12
  if (fam === 0x21) return 36
  return -1
}

/**
 * Check byte b arriving at offset p (12 <= p < 16) of a v2 header whose bytes
 * [0, p) are in buf and were accepted. Returns null when acceptable so far.
 */
export function v2ByteError(buf: Buffer, p: number, b: number): V2Error | null {
  if (p === VER_CMD) {
    if (b >> 4 !== 2) return fail('PROXY_BAD_HEADER', `version ${b >> 4} at byte ${p}`)
    if ((b & 15) > 1) return fail('PROXY_BAD_HEADER', `command ${b & 15} at byte ${p}`)
    return null
  }
  const local = (buf[VER_CMD] & 15) === 0
  if (p === FAMILY) {
    if (local || addressBlock(b) >= 0) return null
    if (b === 0x12 || b === 0x22 || b === 0x31 || b === 0x32) {
      return fail('PROXY_UNSUPPORTED', `family 0x${b.toString(16)} (UDP/UNIX) at byte ${p}`)
    }
    return fail('PROXY_BAD_HEADER', `family 0x${b.toString(16)} at byte ${p}`)
  }
  if (p === LENGTH && b * 256 > V2_MAX_PAYLOAD) {
    return fail('PROXY_TOO_LONG', `length over ${V2_MAX_PAYLOAD} at byte ${LENGTH}`)
  }
  if (p === LENGTH + 1) {
    const length = buf[LENGTH] * 256 + b
    if (length > V2_MAX_PAYLOAD) return fail('PROXY_TOO_LONG', `length ${length} over ${V2_MAX_PAYLOAD} at byte ${LENGTH}`)
    const need = local ? 0 : addressBlock(buf[FAMILY])
    if (length < need) return fail('PROXY_BAD_HEADER', `length ${length} under the address block (${need}) at byte ${LENGTH}`)
  }
  return null
}

/** Total header length (fixed part + payload) once the first 16 bytes are in buf. */
export function v2TotalLength(buf: Buffer): number {
  return V2_FIXED_LENGTH + buf.readUInt16BE(LENGTH)
}

const UNKNOWN_HEADER = { family: 'UNKNOWN', srcAddress: null, srcPort: null, dstAddress: null, dstPort: null } as const
const groupsA = new Uint16Array(8)
const groupsB = new Uint16Array(8)

/**
 * Parse a complete header buf[0, total) whose first 16 bytes passed
 * v2ByteError. Returns the header or an error (bad TLV framing).
 */
export function parseV2(buf: Buffer, total: number): ProxyHeader | V2Error {
  if ((buf[VER_CMD] & 15) === 0) return { version: 2, command: 'LOCAL', ...UNKNOWN_HEADER }
  const fam = buf[FAMILY]
  if (fam === 0x00) return { version: 2, command: 'PROXY', ...UNKNOWN_HEADER }
  const at = V2_FIXED_LENGTH
  const block = addressBlock(fam)
  for (let p = at + block; p < total; ) {
    if (p + 3 > total) return fail('PROXY_BAD_HEADER', `truncated TLV at byte ${p}`)
    const next = p + 3 + buf.readUInt16BE(p + 1)
    if (next > total) return fail('PROXY_BAD_HEADER', `TLV overruns the header at byte ${p}`)
    p = next
  }
  if (fam === 0x11) {
    return {
      version: 2,
      command: 'PROXY',
      family: 'TCP4',
      srcAddress: formatIPv4(buf.readUInt32BE(at)),
      dstAddress: formatIPv4(buf.readUInt32BE(at + 4)),
      srcPort: buf.readUInt16BE(at + 8),
      dstPort: buf.readUInt16BE(at + 10),
    }
  }
  for (let i = 0; i < 8; i++) {
    groupsA[i] = buf.readUInt16BE(at + 2 * i)
    groupsB[i] = buf.readUInt16BE(at + 16 + 2 * i)
  }
  return {
    version: 2,
    command: 'PROXY',
    family: 'TCP6',
    srcAddress: formatIPv6(groupsA),
    dstAddress: formatIPv6(groupsB),
    srcPort: buf.readUInt16BE(at + 32),
    dstPort: buf.readUInt16BE(at + 34),
  }
}
