// PROXY protocol v1 (text): byte-at-a-time checks while the line arrives, and
// the parse of a complete line. Pure, never throws.
//
// Grammar accepted (strict): "PROXY " proto SP src SP dst SP sport SP dport CRLF
// with proto TCP4 or TCP6, single spaces, addresses matching the family (see
// ip.ts: no leading zeros in IPv4, no zone in IPv6), ports decimal 0..65535
// without leading zeros; or "PROXY UNKNOWN" followed by CRLF or by a space and
// any bytes but LF up to the first CRLF (the spec says to ignore them, a lone
// CR included; the connection's own endpoints are then used). At most 107
// bytes with the CRLF (the spec's worst case). Offsets in reasons count from
// the first byte of the header.
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../ip.ts'
import type { ProxyHeader } from './types.ts'

export interface HeaderError {
  readonly status: 'error'
  readonly code: 'PROXY_BAD_HEADER'
  readonly reason: string
}

function bad(reason: string): HeaderError {
  return { status: 'error', code: 'PROXY_BAD_HEADER', reason: `v1: ${reason}` }
}

const TCP = 'TCP'
const UNKNOWN = 'UNKNOWN'
const PROTO_AT = 6 // first byte after "PROXY "
const UNKNOWN_TAIL = PROTO_AT + 7 // the byte after "UNKNOWN": CR or SP

// Bytes allowed after "TCPx ": hex digits, '.', ':', ' ', CR, LF.
const TCP_CHARS = new Uint8Array(256)
for (const c of '0123456789abcdefABCDEF.: \r\n') TCP_CHARS[c.charCodeAt(0)] = 1

/**
 * Check byte b arriving at offset p (p >= 6) of a v1 line whose bytes [0, p)
 * are in buf and were accepted. Returns null when b is acceptable so far, or
 * the error; decides as early as one byte allows.
 */
export function v1ByteError(buf: Buffer, p: number, b: number): HeaderError | null {
  const prev = buf[p - 1]
  const first = p === PROTO_AT ? b : buf[PROTO_AT]
  // After "UNKNOWN " the spec says "the receiver must ignore anything presented
  // before the CRLF is found": a lone CR there is ignored, a lone LF is not (it
  // would end the line without CRLF).
  const unknownTail = first === 0x55 && p > UNKNOWN_TAIL && buf[UNKNOWN_TAIL] === 0x20
  if (prev === 13 && b !== 10 && !unknownTail) return bad(`CR not followed by LF at byte ${p - 1}`)
  if (b === 10 && prev !== 13) return bad(`LF without CR at byte ${p}`)
  if (first === 0x54) {
    // "TCP4 " / "TCP6 "
    const k = p - PROTO_AT
    if (k < 3) return b === TCP.charCodeAt(k) ? null : bad(`unknown protocol at byte ${PROTO_AT}`)
    if (k === 3) return b === 0x34 || b === 0x36 ? null : bad(`unknown protocol at byte ${PROTO_AT}`)
    if (k === 4) return b === 0x20 ? null : bad(`unknown protocol at byte ${PROTO_AT}`)
    return TCP_CHARS[b] === 1 ? null : bad(`bad character 0x${b.toString(16)} at byte ${p}`)
  }
  if (first === 0x55) {
    // "UNKNOWN" then CR or SP, then anything up to CRLF
    const k = p - PROTO_AT
    if (k < 7) return b === UNKNOWN.charCodeAt(k) ? null : bad(`unknown protocol at byte ${PROTO_AT}`)
    if (k === 7) return b === 0x20 || b === 13 ? null : bad(`unknown protocol at byte ${PROTO_AT}`)
    return null
  }
  return bad(`unknown protocol at byte ${PROTO_AT}`)
}

const FIELDS = ['source address', 'destination address', 'source port', 'destination port']
const scratch = new Uint16Array(8)

function parsePort(s: string, start: number, end: number): number {
  const n = end - start
  if (n < 1 || n > 5) return -1
  if (n > 1 && s.charCodeAt(start) === 48) return -1
  let v = 0
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i) - 48
    if (c < 0 || c > 9) return -1
    v = v * 10 + c
  }
  return v <= 65535 ? v : -1
}

/**
 * Parse a complete line buf[0, len) that passed v1ByteError for every byte and
 * ends with CRLF. Returns the header or a PROXY_BAD_HEADER error.
 */
export function parseV1Line(buf: Buffer, len: number): ProxyHeader | HeaderError {
  if (buf[PROTO_AT] === 0x55) {
    return { version: 1, command: 'PROXY', family: 'UNKNOWN', srcAddress: null, srcPort: null, dstAddress: null, dstPort: null }
  }
  const v6 = buf[PROTO_AT + 3] === 0x36
  const s = buf.toString('latin1', 0, len - 2) // offsets in s are byte offsets
  const out: (string | number)[] = []
  let pos = PROTO_AT + 5
  for (let k = 0; k < 4; k++) {
    if (pos >= s.length) return bad(`missing ${FIELDS[k]} at byte ${s.length}`)
    let end = s.indexOf(' ', pos)
    if (end < 0) end = s.length
    else if (k === 3) return bad(`unexpected data after destination port at byte ${end}`)
    if (end === pos) return bad(`bad ${FIELDS[k]} at byte ${pos}`)
    if (k < 2) {
      let text: string | null = null
      if (!v6) {
        const a = parseIPv4(s, pos, end)
        if (a >= 0) text = formatIPv4(a)
      } else if (parseIPv6(s.slice(pos, end), scratch)) {
        text = formatIPv6(scratch)
      }
      if (text === null) return bad(`bad ${FIELDS[k]} at byte ${pos}`)
      out.push(text)
    } else {
      const port = parsePort(s, pos, end)
      if (port < 0) return bad(`bad ${FIELDS[k]} at byte ${pos}`)
      out.push(port)
    }
    pos = end + 1
  }
  return {
    version: 1,
    command: 'PROXY',
    family: v6 ? 'TCP6' : 'TCP4',
    srcAddress: out[0] as string,
    dstAddress: out[1] as string,
    srcPort: out[2] as number,
    dstPort: out[3] as number,
  }
}
