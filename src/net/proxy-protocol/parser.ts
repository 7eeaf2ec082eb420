// The strict, incremental PROXY protocol parser (v1 and v2, detected from the
// first byte). Pure: no I/O, no timers, never throws.
//
// Feed it chunks of any size (down to one byte) with push(); each call answers
//   need-more  { consumed, atMost }  the header is not complete; it will take at
//              most `atMost` more bytes (consumed + atMost <= MAX_HEADER_LENGTH)
//   done       { header, rest }      `rest` is the part of the last chunk after
//              the header (a view, not a copy; empty when nothing followed)
//   error      { code, reason }      reason names the byte offset that failed
// It decides as early as the bytes allow: a first byte that starts neither
// signature fails at once, and so does any byte that no valid header could
// hold at that offset. end() reports that the peer closed: PROXY_TRUNCATED
// unless a result was already reached. After done or error, push() and end()
// return that same result and ignore their input.
import { parseV1Line, v1ByteError } from './v1.ts'
import { parseV2, v2ByteError, v2TotalLength } from './v2.ts'
import type { ParseResult, ProxyHeader } from './types.ts'
import { MAX_HEADER_LENGTH, V1_MAX_LENGTH, V1_SIGNATURE, V2_FIXED_LENGTH, V2_SIGNATURE } from './types.ts'

type Terminal = Exclude<ParseResult, { status: 'need-more' }>

export class ProxyParser {
  private buf: Buffer = Buffer.allocUnsafe(V1_MAX_LENGTH)
  private len = 0
  private version: 0 | 1 | 2 = 0
  private total = 0 // v2: full header length, once known
  private result: Terminal | null = null

  /** Bytes taken into the header so far. */
  get consumed(): number {
    return this.len
  }

  push(chunk: Buffer): ParseResult {
    if (this.result !== null) return this.result
    const n = chunk.length
    let i = 0
    while (i < n) {
      if (this.total > 0) {
        // v2 body: bulk copy, nothing to check until it is complete
        const take = Math.min(n - i, this.total - this.len)
        chunk.copy(this.buf, this.len, i, i + take)
        this.len += take
        i += take
        if (this.len === this.total) return this.finish(parseV2(this.buf, this.total), chunk.subarray(i))
        continue
      }
      const b = chunk[i]
      const err = this.checkByte(this.len, b)
      if (err !== null) return (this.result = err)
      this.buf[this.len++] = b
      i++
      if (this.version === 1) {
        if (b === 10) return this.finish(parseV1Line(this.buf, this.len), chunk.subarray(i))
        if (this.len === V1_MAX_LENGTH) {
          return (this.result = { status: 'error', code: 'PROXY_TOO_LONG', reason: `v1: no CRLF within ${V1_MAX_LENGTH} bytes` })
        }
      } else if (this.len === V2_FIXED_LENGTH) {
        const total = v2TotalLength(this.buf)
        if (total === V2_FIXED_LENGTH) return this.finish(parseV2(this.buf, total), chunk.subarray(i))
        if (total > this.buf.length) {
          const bigger = Buffer.allocUnsafe(total)
          this.buf.copy(bigger, 0, 0, this.len)
          this.buf = bigger
        }
        this.total = total
      }
    }
    return { status: 'need-more', consumed: this.len, atMost: this.bound() - this.len }
  }

  /** The peer closed (or the socket failed): the final result. */
  end(): Terminal {
    if (this.result === null) {
      this.result = { status: 'error', code: 'PROXY_TRUNCATED', reason: `peer closed mid-header at byte ${this.len}` }
    }
    return this.result
  }

  private bound(): number {
    if (this.version === 1) return V1_MAX_LENGTH
    if (this.total > 0) return this.total
    return MAX_HEADER_LENGTH
  }

  private checkByte(p: number, b: number): Terminal | null {
    if (p === 0) {
      if (b === V1_SIGNATURE[0]) this.version = 1
      else if (b === V2_SIGNATURE[0]) this.version = 2
      else return { status: 'error', code: 'PROXY_BAD_SIGNATURE', reason: `no PROXY signature at byte 0` }
      return null
    }
    const sig = this.version === 1 ? V1_SIGNATURE : V2_SIGNATURE
    if (p < sig.length) {
      if (b === sig[p]) return null
      return { status: 'error', code: 'PROXY_BAD_SIGNATURE', reason: `v${this.version}: bad signature at byte ${p}` }
    }
    return this.version === 1 ? v1ByteError(this.buf, p, b) : v2ByteError(this.buf, p, b)
  }

  private finish(r: ProxyHeader | Terminal, rest: Buffer): Terminal {
    this.result = 'status' in r ? r : { status: 'done', header: r, rest }
    return this.result
  }
}

/** One-shot parse of a buffer that should start with a header (need-more if it is cut short). */
export function parseProxyHeader(buf: Buffer): ParseResult {
  return new ProxyParser().push(buf)
}
