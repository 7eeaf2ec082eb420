// PROXY protocol v2 (binary): checks of the fixed 16 bytes as they arrive, and
// the parse of a complete header. Pure, never throws.
//
// Layout: 12-byte signature | ver<<4|cmd | family<<4|transport | length (BE16)
// | address block | TLVs. Accepted: version 2; command LOCAL (0) or PROXY (1).
// Rules from HAProxy's doc/proxy-protocol.txt, section 2.2:
// - LOCAL: "discard the protocol block including the family which is ignored";
//   the family byte is not checked and no address is reported.
// - PROXY: the family nibble must be 0..3 (UNSPEC, INET, INET6, UNIX) and the
//   transport nibble 0..2 (UNSPEC, STREAM, DGRAM); other values "must be
//   rejected as invalid". 0x11 (TCP over IPv4) and 0x21 (TCP over IPv6) carry
//   the client's address. Every other valid combination (UNSPEC 0x00, UDP 0x12
//   and 0x22, UNIX 0x31 and 0x32, and the mixed ones such as 0x10) is accepted
//   as family UNKNOWN: the receiver "automatically falls back to the UNSPEC
//   mode for the valid combinations ... that it does not support" and uses the
//   connection's own endpoints (HAProxy: "unsupported protocol, keep local
//   connection address").
// - The length must cover the address block of the combination (12 for INET,
//   36 for INET6, 216 for UNIX; 0 when either nibble is UNSPEC) and be at most
//   V2_MAX_PAYLOAD (else PROXY_TOO_LONG). The bytes after the address block are
//   TLVs: skipped, but when the block's size is known their framing (type,
//   length) must fit the header exactly, as HAProxy checks.
import { formatIPv4, formatIPv6 } from '../ip.ts'
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

/** A PROXY command's family byte is valid when both nibbles are assigned values. */
function validFamily(fam: number): boolean {
  return fam >> 4 <= 3 && (fam & 15) <= 2
}

/**
 * Bytes of the address block for a valid family byte: 12 (IPv4 + ports), 36
 * (IPv6 + ports), 216 (two 108-byte UNIX paths), or 0 when the family or the
 * transport is UNSPEC (the block's size is then unknown: "ignore address information").
 */
function addressBlock(fam: number): number {
  if ((fam & 15) === 0) return 0
  const family = fam >> 4
  return family === 1 ? 12 : family === 2 ? 36 : family === 3 ? 216 : 0
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
    if (local || validFamily(b)) return null
    return fail('PROXY_BAD_HEADER', `family 0x${b.toString(16).padStart(2, '0')} at byte ${p}`)
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
 * v2ByteError. Returns the header (family UNKNOWN, no addresses, for LOCAL
 * and for every PROXY family other than TCP over IPv4/IPv6) or an error (bad
 * TLV framing, with its byte offset).
 */
export function parseV2(buf: Buffer, total: number): ProxyHeader | V2Error {
  if ((buf[VER_CMD] & 15) === 0) return { version: 2, command: 'LOCAL', ...UNKNOWN_HEADER }
  const fam = buf[FAMILY]
  const at = V2_FIXED_LENGTH
  const block = addressBlock(fam)
  if (block > 0) {
    for (let p = at + block; p < total; ) {
      if (p + 3 > total) return fail('PROXY_BAD_HEADER', `truncated TLV at byte ${p}`)
      const next = p + 3 + buf.readUInt16BE(p + 1)
      if (next > total) return fail('PROXY_BAD_HEADER', `TLV overruns the header at byte ${p}`)
      p = next
    }
  }
  if (fam !== 0x11 && fam !== 0x21) return { version: 2, command: 'PROXY', ...UNKNOWN_HEADER }
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
