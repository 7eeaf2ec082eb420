// The backend's first response line, observed as it passes towards the
// client, for CONNECT answers as health (issue 14, `observe: http-connect`):
// pure and bounded. Only the start is needed:
//
//   HTTP/1.<digit> SP <3 digits> (SP | CR | LF)      (RFC 9112 §4)
//
// so a decision comes within the first 13 bytes, whatever the packet
// boundaries. The observer never changes or holds a byte (the bytes go to the
// client as they are); it copies at most 13. Anything that is not such a
// start, at the first byte that shows it (TLS, a banner, an HTTP/2 preface,
// HTTP/1.1 with a 2-digit code), is `unknown`: the caller counts it as
// neither success nor failure. So is a close before 13 bytes (`end()`).
export type StatusScan =
  | { readonly kind: 'more' }
  | { readonly kind: 'status'; readonly code: number } // 100..599
  | { readonly kind: 'unknown'; readonly why: string }

/** How a CONNECT answer counts for passive health: 2xx a success; 5xx, and 407 when asked, a failure. */
export type ConnectVerdict = 'success' | 'failure' | 'neutral' | 'unknown'

const MORE: StatusScan = Object.freeze({ kind: 'more' })
const START = 'HTTP/1.'
const NEEDED = 13 // "HTTP/1.1 200" + one byte after the code

export class StatusLineObserver {
  #seen = ''
  #result: StatusScan = MORE

  get result(): StatusScan {
    return this.#result
  }

  /** Bytes from the backend, in order; the outcome so far (final once not `more`). Never throws. */
  push(chunk: Buffer): StatusScan {
    if (this.#result !== MORE) return this.#result
    const take = Math.min(chunk.length, NEEDED - this.#seen.length)
    this.#seen += chunk.toString('latin1', 0, take)
    const s = this.#seen
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      let ok: boolean
      if (i < START.length) ok = c === START.charCodeAt(i)
      else if (i === 7) ok = c >= 0x30 && c <= 0x39
      else if (i === 8) ok = c === 0x20
      else if (i <= 11) ok = c >= 0x30 && c <= 0x39
      else ok = c === 0x20 || c === 0x0d || c === 0x0a
      if (!ok) return (this.#result = { kind: 'unknown', why: i < 8 ? 'not an HTTP/1.x response' : `bad status line at byte ${i}` })
    }
    if (s.length < NEEDED) return MORE
    const code = Number(s.slice(9, 12))
    this.#result = code >= 100 && code <= 599 ? { kind: 'status', code } : { kind: 'unknown', why: `status ${code} out of range` }
    return this.#result
  }

  /** The backend closed: a start still incomplete is `unknown`. */
  end(): StatusScan {
    if (this.#result === MORE) this.#result = { kind: 'unknown', why: `closed after ${this.#seen.length} bytes` }
    return this.#result
  }
}

/** The passive-health meaning of an observed answer: 407 counts as a failure only with `count407`. */
export function connectVerdict(scan: StatusScan, count407: boolean): ConnectVerdict {
  if (scan.kind !== 'status') return 'unknown'
  const c = scan.code
  if (c >= 200 && c <= 299) return 'success'
  if (c >= 500 || (c === 407 && count407)) return 'failure'
  return 'neutral'
}
