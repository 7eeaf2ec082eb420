// Trusted-source matching for `proxy-protocol.trusted`: a list of CIDRs
// compiled once into numbers, then asked per accepted connection.
//
// Entries are IPv4 ("10.0.0.0/8") or IPv6 ("fd00::/8") CIDRs; a bare address
// means a single host (/32 or /128). Host bits beyond the prefix are ignored
// ("10.0.0.1/8" is 10.0.0.0/8), and so is an IPv6 scope id ("%eth0"), on
// entries and on client addresses alike. Everything is kept as 128-bit IPv6 with IPv4
// living in ::ffff:0:0/96, so an IPv4-mapped client address
// ("::ffff:10.1.2.3", what a dual-stack listener reports) matches IPv4 CIDRs,
// and "::/0" matches every client.
import { parseIPv4, parseIPv6 } from '../net/ip.ts'

const groups = new Uint16Array(8) // scratch: one parse at a time, no allocation per call
const words = new Uint32Array(4)

/** Parse an address into `words` (four big-endian 32-bit words). False when invalid. */
function toWords(address: string): boolean {
  const v4 = parseIPv4(address)
  if (v4 >= 0) {
    words[0] = 0
    words[1] = 0
    words[2] = 0xffff
    words[3] = v4
    return true
  }
  const pct = address.indexOf('%') // link-local scope id ("fe80::1%eth0"): not part of the address
  if (pct === address.length - 1) return false // an empty scope id
  if (!parseIPv6(pct < 0 ? address : address.slice(0, pct), groups)) return false
  for (let i = 0; i < 4; i++) words[i] = groups[2 * i] * 65536 + groups[2 * i + 1]
  return true
}

/** Prefix length of a CIDR (96 added for IPv4), or -1 when it is not a valid CIDR; fills `words`. */
function parseCidr(entry: string): number {
  const slash = entry.indexOf('/')
  const addr = slash < 0 ? entry : entry.slice(0, slash)
  if (!toWords(addr)) return -1 // a scope id ("fe80::%eth0/10") is ignored, as for clients
  const v4 = parseIPv4(addr) >= 0
  const max = v4 ? 32 : 128
  if (slash < 0) return 128
  const bits = entry.slice(slash + 1)
  if (!/^(0|[1-9][0-9]{0,2})$/.test(bits)) return -1
  const n = Number(bits)
  if (n > max) return -1
  return v4 ? n + 96 : n
}

/** True when `s` is a CIDR (or bare address) compileCidrs accepts. */
export function isValidCidr(s: string): boolean {
  return typeof s === 'string' && parseCidr(s) >= 0
}

/**
 * Compile CIDRs into a matcher: (address) => true when the address is in any
 * of them; false for an address that does not parse (and for an empty list).
 * Throws at compile time, naming the entry, when an entry is not valid.
 */
export function compileCidrs(list: readonly string[]): (address: string) => boolean {
  const count = list.length
  const nets = new Uint32Array(count * 4)
  const masks = new Uint32Array(count * 4)
  for (let k = 0; k < count; k++) {
    const entry = list[k]
    const prefix = typeof entry === 'string' ? parseCidr(entry) : -1
    if (prefix < 0) throw new Error(`invalid CIDR "${String(entry)}" (entry ${k})`)
    for (let i = 0; i < 4; i++) {
      const bits = Math.max(0, Math.min(32, prefix - 32 * i))
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0
      masks[4 * k + i] = mask
      nets[4 * k + i] = (words[i] & mask) >>> 0
    }
  }
  return (address: string): boolean => {
    if (count === 0 || !toWords(address)) return false
    for (let k = 0; k < count; k++) {
      const o = 4 * k
      if (
        ((words[0] & masks[o]) >>> 0) === nets[o] &&
        ((words[1] & masks[o + 1]) >>> 0) === nets[o + 1] &&
        ((words[2] & masks[o + 2]) >>> 0) === nets[o + 2] &&
        ((words[3] & masks[o + 3]) >>> 0) === nets[o + 3]
      ) {
        return true
      }
    }
    return false
  }
}
