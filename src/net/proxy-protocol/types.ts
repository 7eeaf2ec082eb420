// Vocabulary of the PROXY protocol (HAProxy proxy-protocol.txt, v1 text and
// v2 binary) shared by the encoder, the incremental parser and the socket glue.

/** What a sender told us about the original connection. */
export interface ProxyHeader {
  readonly version: 1 | 2
  /** LOCAL (v2 only): the sender's own connection (health check); use the real endpoints. */
  readonly command: 'PROXY' | 'LOCAL'
  /**
   * UNKNOWN for v1 "PROXY UNKNOWN", every v2 LOCAL header, and v2 PROXY with
   * any valid family/transport other than TCP over IPv4/IPv6 (UNSPEC, UDP,
   * UNIX, ...): the receiver then uses the connection's own endpoints.
   */
  readonly family: 'TCP4' | 'TCP6' | 'UNKNOWN'
  /** Canonical text (IPv6 per RFC 5952); null when family is UNKNOWN. */
  readonly srcAddress: string | null
  readonly srcPort: number | null
  readonly dstAddress: string | null
  readonly dstPort: number | null
}

/**
 * Stable error codes. The parser yields the first four; PROXY_TRUNCATED also
 * comes from the parser's end(); the socket glue adds PROXY_TIMEOUT and
 * PROXY_UNTRUSTED. PROXY_UNSUPPORTED is retired (never produced, never reused):
 * valid headers for families we do not decode fall back to the real endpoints.
 */
export type ProxyErrorCode =
  | 'PROXY_BAD_SIGNATURE' // neither "PROXY " nor the v2 signature
  | 'PROXY_BAD_HEADER' // right signature, malformed content (reason has the detail)
  | 'PROXY_TOO_LONG' // v1 line over 107 bytes, v2 header over the cap
  | 'PROXY_TRUNCATED' // peer closed (or errored) before the header was complete
  | 'PROXY_TIMEOUT' // header not complete within the configured time
  | 'PROXY_UNTRUSTED' // a header is required but the source is not trusted
  | 'PROXY_UNSUPPORTED' // retired: was valid v2 with a UDP or UNIX family (now accepted)

export const PROXY_ERROR_CODES: readonly ProxyErrorCode[] = [
  'PROXY_BAD_SIGNATURE',
  'PROXY_BAD_HEADER',
  'PROXY_TOO_LONG',
  'PROXY_TRUNCATED',
  'PROXY_TIMEOUT',
  'PROXY_UNTRUSTED',
  'PROXY_UNSUPPORTED',
]

/** v1: the longest line, CRLF included (spec: 107 for "TCP6" with full addresses). */
export const V1_MAX_LENGTH = 107
/** v2: fixed part (signature, ver/cmd, family, length). */
export const V2_FIXED_LENGTH = 16
/** v2: the largest address+TLV block we accept; bigger is PROXY_TOO_LONG. */
export const V2_MAX_PAYLOAD = 2048
/** No header, of either version, is ever longer than this. */
export const MAX_HEADER_LENGTH = V2_FIXED_LENGTH + V2_MAX_PAYLOAD

export const V1_SIGNATURE: Buffer = Buffer.from('PROXY ', 'latin1')
export const V2_SIGNATURE: Buffer = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
])

/** A parser step: more bytes needed (never more than `atMost`), a header, or an error. */
export type ParseResult =
  | { readonly status: 'need-more'; readonly consumed: number; readonly atMost: number }
  | { readonly status: 'done'; readonly header: ProxyHeader; readonly rest: Buffer }
  | { readonly status: 'error'; readonly code: ProxyErrorCode; readonly reason: string }
