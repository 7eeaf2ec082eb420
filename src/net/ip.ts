// Strict IP literal parsing and canonical formatting, shared by the PROXY
// protocol codec, the CIDR matcher and the flow hash. Pure, never throws,
// never allocates while parsing.
//
// Accepted IPv4: exactly four decimal octets 0..255, no leading zeros
// ("01.2.3.4" is rejected, as glibc inet_pton does, to avoid octal ambiguity).
// Accepted IPv6: RFC 4291 text form: 1..4 hex digits per group, at most one
// "::", an optional dotted IPv4 tail; no zone ("%eth0"), no brackets.
// Canonical IPv6 output is RFC 5952 (lower case, longest zero run compressed,
// first one on a tie, never a single group) and IPv4-mapped addresses print as
// "::ffff:a.b.c.d", which is how Node reports them in socket.remoteAddress.
// canonicalHost gives one text per address (for duplicate checks) and
// formatHostPort the one way an address and port are printed.

/**
 * Parse an IPv4 literal in s[start, end). Returns the address as an unsigned
 * 32-bit number, or -1 when the text is not a strict dotted quad.
 */
export function parseIPv4(s: string, start = 0, end = s.length): number {
  let value = 0
  let octets = 0
  let i = start
  while (octets < 4) {
    let n = 0
    let digits = 0
    const first = i
    while (i < end) {
      const c = s.charCodeAt(i) - 48
      if (c < 0 || c > 9) break
      n = n * 10 + c
      digits++
      i++
      if (digits > 3) return -1
    }
    if (digits === 0 || n > 255) return -1
    if (digits > 1 && s.charCodeAt(first) === 48) return -1 // leading zero
    value = value * 256 + n
    octets++
    if (octets < 4) {
      if (i >= end || s.charCodeAt(i) !== 46) return -1
      i++
    }
  }
  return i === end ? value : -1
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  if (c >= 65 && c <= 70) return c - 55
  return -1
}

/**
 * Parse an IPv6 literal into `out` (eight 16-bit groups). Returns false (and
 * leaves `out` in an unspecified state) when s is not a valid IPv6 literal.
 * Does not allocate.
 */
export function parseIPv6(s: string, out: Uint16Array, end = s.length): boolean {
  const n = end
  if (n < 2 || n > 45) return false
  let gap = -1 // index in `out` where "::" stands
  let g = 0
  let i = 0
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return false
    gap = 0
    i = 2
  }
  while (i < n) {
    if (g === 8) return false
    let j = i
    let v = 0
    while (j < n && j - i < 5) {
      const h = hexValue(s.charCodeAt(j))
      if (h < 0) break
      v = v * 16 + h
      j++
    }
    if (j < n && s.charCodeAt(j) === 46) {
      // dotted IPv4 tail: must be the last 32 bits written
      if (g > 6) return false
      const v4 = parseIPv4(s, i, n)
      if (v4 < 0) return false
      out[g++] = v4 >>> 16
      out[g++] = v4 & 0xffff
      i = n
      break
    }
    if (j === i || j - i > 4) return false
    out[g++] = v
    i = j
    if (i === n) break
    if (s.charCodeAt(i) !== 58) return false
    i++
    if (i === n) return false // a single trailing colon
    if (s.charCodeAt(i) === 58) {
      if (gap >= 0) return false // a second "::"
      gap = g
      i++
    }
  }
  if (gap < 0) return g === 8
  if (g === 8) return false // "::" must stand for at least one group
  const tail = g - gap
  for (let k = 0; k < tail; k++) out[7 - k] = out[g - 1 - k]
  for (let k = gap; k < 8 - tail; k++) out[k] = 0
  return true
}

/** Dotted-quad text of an unsigned 32-bit IPv4 address. */
export function formatIPv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`
}

/** True when the eight groups hold an IPv4-mapped address (::ffff:0:0/96). */
export function isMappedV4(g: Uint16Array): boolean {
  return g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff
}

/** RFC 5952 canonical text of eight 16-bit groups (see the head comment). */
export function formatIPv6(g: Uint16Array): string {
  if (isMappedV4(g)) return `::ffff:${formatIPv4(g[6] * 65536 + g[7])}`
  let bestAt = -1
  let bestLen = 1 // a single zero group is never compressed
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && g[j] === 0) j++
    if (j - i > bestLen) {
      bestAt = i
      bestLen = j - i
    }
    i = j
  }
  let out = ''
  for (let i = 0; i < 8; i++) {
    if (i === bestAt) {
      out += '::'
      i += bestLen - 1
      continue
    }
    if (out !== '' && !out.endsWith(':')) out += ':'
    out += g[i].toString(16)
  }
  return out
}

/** Canonical text of an IPv6 literal, or null when it is not one. */
export function canonicalIPv6(s: string): string | null {
  const g = new Uint16Array(8)
  return parseIPv6(s, g) ? formatIPv6(g) : null
}

/**
 * "host:port" for an IPv4 address or a host name, "[v6]:port" for an IPv6
 * literal (the RFC 3986 authority form): how backend ids, binds, probe
 * requests and every log line print an address and port. The host is printed
 * as given; pass it through canonicalHost first to print one form per address.
 */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

/**
 * One text per address, for duplicate checks and default backend ids:
 * - an IPv4 literal stays as it is (strict dotted quad, see parseIPv4);
 * - an IPv6 literal takes its RFC 5952 form, so "0:0:0:0:0:0:0:1", "::0001" and
 *   "::1" are one address and hex case does not matter; an IPv4-mapped address
 *   (::ffff:a.b.c.d in any spelling) becomes the IPv4 address itself, since a
 *   socket bound to it serves the same clients as one bound to a.b.c.d; a zone
 *   ("%eth0") is kept as written (interface names are case-sensitive);
 * - anything else is a host name: lower-cased, without a trailing dot (DNS names
 *   are case-insensitive). Names are never resolved: "localhost" and
 *   "127.0.0.1" stay two texts.
 * Never throws; text that is neither an IP literal nor a name is returned lower-cased.
 */
export function canonicalHost(host: string): string {
  if (parseIPv4(host) >= 0) return host
  const zoneAt = host.indexOf('%')
  const addr = zoneAt < 0 ? host : host.slice(0, zoneAt)
  const g = new Uint16Array(8)
  if (addr.includes(':') && parseIPv6(addr, g)) {
    const text = isMappedV4(g) ? formatIPv4(g[6] * 65536 + g[7]) : formatIPv6(g)
    return zoneAt < 0 ? text : `${text}${host.slice(zoneAt)}`
  }
  return host.toLowerCase().replace(/\.$/, '')
}

/**
 * True for the loopback range, in any spelling: 127.0.0.0/8 (also as
 * ::ffff:127.x.y.z in any IPv6 form), ::1 (also 0:0:0:0:0:0:0:1 and other forms)
 * and the name "localhost" (any case). False for everything else.
 */
export function isLoopback(host: string): boolean {
  const h = canonicalHost(host)
  if (h === 'localhost' || h === '::1') return true
  return parseIPv4(h) >= 0 && h.startsWith('127.')
}
