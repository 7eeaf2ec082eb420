// Allocation-free parsers for IP literals, used by the flow hash (hash.ts) so
// that an address is hashed by value, whatever its spelling.
// They never throw and never allocate: strings are walked by char code.

/**
 * Parse a dotted-quad IPv4 literal in s[start, end).
 * Returns the address as a uint32 (first octet most significant), or -1 when
 * the text is not exactly four decimal octets 0..255.
 */
export function parseIPv4(s: string, start: number, end: number): number {
  let value = 0
  let octet = 0
  let digits = 0
  let dots = 0
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i)
    if (c >= 48 && c <= 57) {
      octet = octet * 10 + (c - 48)
      if (++digits > 3 || octet > 255) return -1
    } else if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1
      value = value * 256 + octet
      octet = 0
      digits = 0
    } else {
      return -1
    }
  }
  if (dots !== 3 || digits === 0) return -1
  return value * 256 + octet
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  if (c >= 65 && c <= 70) return c - 55
  return -1
}

/**
 * Parse an IPv6 literal (RFC 4291 text forms: `::` compression, an embedded
 * dotted IPv4 tail, a `%zone` suffix which is ignored) into eight 16-bit
 * groups in `out`. Returns false (with `out` unspecified) when `s` is not an
 * IPv6 literal, e.g. an IPv4 literal or a host name.
 */
export function parseIPv6(s: string, out: Uint16Array): boolean {
  let end = s.length
  for (let i = 0; i < end; i++) {
    if (s.charCodeAt(i) === 37 /* % */) {
      end = i
      break
    }
  }
  if (end < 2) return false
  out.fill(0)
  let i = 0
  let count = 0
  let gap = -1
  if (s.charCodeAt(0) === 58 /* : */) {
    if (s.charCodeAt(1) !== 58) return false
    gap = 0
    i = 2
  }
  while (i < end) {
    if (count === 8) return false
    const start = i
    let value = 0
    while (i < end) {
      const h = hexValue(s.charCodeAt(i))
      if (h < 0) break
      value = value * 16 + h
      i++
    }
    if (i < end && s.charCodeAt(i) === 46 /* . */) {
      // dotted IPv4 tail: must be last and leave room for two groups
      if (count > 6) return false
      const ip = parseIPv4(s, start, end)
      if (ip < 0) return false
      out[count++] = Math.floor(ip / 65536)
      out[count++] = ip % 65536
      i = end
      break
    }
    const digits = i - start
    if (digits === 0 || digits > 4) return false
    out[count++] = value
    if (i === end) break
    if (s.charCodeAt(i) !== 58) return false
    i++
    if (i < end && s.charCodeAt(i) === 58) {
      if (gap >= 0) return false
      gap = count
      i++
    } else if (i === end) {
      return false // a single trailing colon
    }
  }
  if (gap < 0) return count === 8
  if (count > 7) return false
  // move the groups after `::` to the end and zero the hole
  const tail = count - gap
  for (let k = tail - 1; k >= 0; k--) out[8 - tail + k] = out[gap + k]
  for (let k = gap; k < 8 - tail; k++) out[k] = 0
  return true
}
