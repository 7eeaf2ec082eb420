// The client's CONNECT request line, read as it arrives, for hashing on the
// tunnel's target (issue 14, `hash-key: connect-authority`): pure and bounded.
//
//   CONNECT <authority> HTTP/1.<0|1> CRLF          (RFC 9112 §3, RFC 9110 §9.3.6)
//   authority = uri-host ":" port                  (authority-form: no scheme, no
//                                                   userinfo, a port is required)
//
// The reader never changes a byte: the caller holds and forwards what the
// client sent, whatever the outcome; the reader keeps its own copy of at most
// MAX_CONNECT_LINE bytes (the line), so its memory is bounded however the
// client sends. It decides as early as it can: the first byte that cannot
// start "CONNECT " says `not-connect` (TLS, another method, binary), so only a
// real CONNECT is waited for. A line end is CRLF, or a bare LF (RFC 9112 §2.2
// lets a recipient accept it). Timing out an unfinished line is the caller's
// job (its timeout), and so is what to do with each outcome (hash the
// authority, or fall back to the client address).
import { canonicalHost, formatHostPort, parseIPv4, parseIPv6 } from '../ip.ts'

/** Longest request line looked at, in bytes (with its CR, without its LF); longer = `too-long`. */
export const MAX_CONNECT_LINE = 4096

/** Longest host in an authority (a DNS name is at most 253 characters). */
const MAX_HOST = 255

export type ConnectScan =
  | { readonly kind: 'more' } // a CONNECT line may still come: read on (within the bound)
  | { readonly kind: 'authority'; readonly authority: string; readonly host: string; readonly port: number } // canonical "host:port" ("[v6]:port")
  | { readonly kind: 'not-connect'; readonly why: string } // not a CONNECT request: fall back
  | { readonly kind: 'malformed'; readonly why: string } // a CONNECT line, but not a valid one: fall back
  | { readonly kind: 'too-long' } // MAX_CONNECT_LINE bytes without a line end: fall back

const PREFIX = Buffer.from('CONNECT ', 'latin1')
const MORE: ConnectScan = Object.freeze({ kind: 'more' })
const TOO_LONG: ConnectScan = Object.freeze({ kind: 'too-long' })

/**
 * Feed the client's bytes in arrival order; each call returns the outcome so
 * far. Once the outcome is not `more` it is final: later calls return it
 * again and look at nothing. Never throws.
 */
export class ConnectLineReader {
  #line = Buffer.alloc(MAX_CONNECT_LINE)
  #length = 0
  #result: ConnectScan = MORE

  get result(): ConnectScan {
    return this.#result
  }

  push(chunk: Buffer): ConnectScan {
    if (this.#result !== MORE) return this.#result
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]
      const at = this.#length
      if (at < PREFIX.length) {
        if (c !== PREFIX[at]) return (this.#result = { kind: 'not-connect', why: at === 0 && c === 0x16 ? 'TLS handshake' : `not a CONNECT request (byte ${at} is ${show(c)})` })
      } else if (c === 0x0a) {
        const end = at > 0 && this.#line[at - 1] === 0x0d ? at - 1 : at
        return (this.#result = parseLine(this.#line.toString('latin1', PREFIX.length, end)))
      }
      if (at >= MAX_CONNECT_LINE) return (this.#result = TOO_LONG)
      this.#line[at] = c
      this.#length++
    }
    return MORE
  }
}

/** `<authority> HTTP/1.x` after "CONNECT ", without the line end. */
function parseLine(rest: string): ConnectScan {
  const sp = rest.indexOf(' ')
  if (sp <= 0) return malformed(sp === 0 ? 'empty request target' : 'no HTTP version')
  const version = rest.slice(sp + 1)
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') return malformed(`bad HTTP version ${JSON.stringify(version.slice(0, 20))}`)
  return parseAuthority(rest.slice(0, sp))
}

/** authority-form `host:port`, `[v6]:port`; the host canonical (canonicalHost), so spellings of one target hash alike. */
export function parseAuthority(target: string): ConnectScan {
  if (/[^\x21-\x7e]/.test(target)) return malformed('control or non-ASCII byte in the target')
  if (target.includes('/') || target.includes('@')) return malformed('not authority-form (a path, scheme or userinfo)')
  const colon = target.lastIndexOf(':')
  if (colon < 0) return malformed('no port')
  const portText = target.slice(colon + 1)
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) return malformed(`bad port ${JSON.stringify(portText.slice(0, 10))}`)
  let host = target.slice(0, colon)
  if (host.startsWith('[')) {
    if (!host.endsWith(']')) return malformed('unclosed IPv6 bracket')
    host = host.slice(1, -1)
    if (!parseIPv6(host, new Uint16Array(8))) return malformed('bad IPv6 literal')
  } else if (host.includes(':') || host.includes('[') || host.includes(']')) return malformed('IPv6 literal without brackets')
  else if (host === '' || host.length > MAX_HOST) return malformed(host === '' ? 'empty host' : 'host too long')
  else if (/^[\d.]+$/.test(host) && parseIPv4(host) < 0) return malformed('bad IPv4 literal')
  else if (!/^[A-Za-z0-9._~!$&'()*+,;=%-]+$/.test(host)) return malformed('bad character in host')
  const port = Number(portText)
  const canon = canonicalHost(host)
  return { kind: 'authority', authority: formatHostPort(canon, port), host: canon, port }
}

function malformed(why: string): ConnectScan {
  return { kind: 'malformed', why }
}

function show(c: number): string {
  return c >= 0x20 && c < 0x7f ? JSON.stringify(String.fromCharCode(c)) : `0x${c.toString(16).padStart(2, '0')}`
}
