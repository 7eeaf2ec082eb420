// Flow and identity hashes for the hashing pickers (maglev, ring).
//
// Contract:
// - Deterministic across processes, machines and Node versions: fixed seeds,
//   32-bit integer arithmetic only (Math.imul), no randomness.
// - No allocation per call: strings are walked by char code; parsed IPv6
//   groups go to one module-level scratch array.
// - Addresses are hashed by VALUE, not spelling: an IPv4 literal is hashed as
//   its 32-bit number; an IPv6 literal as its 128 bits (so `::1` and
//   `0:0:0:0:0:0:0:1` agree); an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`,
//   as Node reports IPv4 clients on a dual-stack socket) hashes exactly like
//   `1.2.3.4`. Anything that parses as neither (a hostname) falls back to its
//   lower-cased characters. A zone id (`fe80::1%eth0`) is ignored.
// - The mixing is MurmurHash3 (x86, 32-bit) applied to 32-bit words; it is
//   not byte-compatible with murmur3 over a byte string, and need not be:
//   only this module produces and consumes these hashes.
import { parseIPv4, parseIPv6 } from '../net/ip.ts'

/**
 * What a hashing policy hashes (`hash-key`): the client address, or address
 * and port, or the target of the client's CONNECT request (the proxy reads
 * it, src/proxy/connect.ts; `hashFlow` treats it as `src-ip`, its fallback).
 */
export const HASH_KEYS = ['src-ip', 'src-ip-port', 'connect-authority'] as const
export type HashKeyKind = (typeof HASH_KEYS)[number]

const C1 = 0xcc9e2d51
const C2 = 0x1b873593
const FLOW_SEED = 0x9747b28c
const AUTHORITY_SEED = 0x3c6ef372

/** Seeds for the two independent id hashes maglev derives offset and skip from. */
export const ID_SEED_OFFSET = 0x5bd1e995
export const ID_SEED_SKIP = 0x1b873593

/** Mix one 32-bit word into the running state (murmur3 body step). */
function mixWord(h: number, k: number): number {
  k = Math.imul(k, C1)
  k = (k << 15) | (k >>> 17)
  k = Math.imul(k, C2)
  h ^= k
  h = (h << 13) | (h >>> 19)
  return (Math.imul(h, 5) + 0xe6546b64) | 0
}

/** murmur3 finaliser; `len` (bytes) separates keys of different shapes. Returns a uint32. */
function finish(h: number, len: number): number {
  h ^= len
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

const v6 = new Uint16Array(8) // scratch for parseIPv6; reused, never escapes

/**
 * The uint32 flow hash of a client. `src-ip` ignores `port`; `src-ip-port`
 * mixes it in. Never throws; any string hashes to something.
 */
export function hashFlow(kind: HashKeyKind, address: string, port: number): number {
  const withPort = kind === 'src-ip-port'
  const ip4 = parseIPv4(address, 0, address.length)
  if (ip4 >= 0) return hashV4(ip4, withPort, port)
  let end = address.length // a %zone suffix does not change who the client is
  for (let i = 0; i < end; i++) if (address.charCodeAt(i) === 37) end = i
  if (parseIPv6(address, v6, end)) {
    if (v6[0] === 0 && v6[1] === 0 && v6[2] === 0 && v6[3] === 0 && v6[4] === 0 && v6[5] === 0xffff) {
      return hashV4(((v6[6] << 16) | v6[7]) >>> 0, withPort, port)
    }
    let h = FLOW_SEED
    for (let i = 0; i < 8; i += 2) h = mixWord(h, (v6[i] << 16) | v6[i + 1])
    if (withPort) return finish(mixWord(h, port & 0xffff), 18)
    return finish(h, 16)
  }
  let h = FLOW_SEED
  const n = address.length
  for (let i = 0; i < n; i++) h = mixWord(h, lower(address.charCodeAt(i)))
  // 0x40000000 keeps the length tag of a name apart from any address shape
  if (withPort) return finish(mixWord(h, port & 0xffff), (n * 2 + 2) | 0x40000000)
  return finish(h, (n * 2) | 0x40000000)
}

/**
 * The uint32 hash of a CONNECT target, the canonical `host:port` of
 * src/net/http1/connect-line.ts (its own seed: a target never collides by
 * construction with a client address). Case-insensitive; no allocation.
 */
export function hashAuthority(authority: string): number {
  let h = AUTHORITY_SEED
  const n = authority.length
  for (let i = 0; i < n; i++) h = mixWord(h, lower(authority.charCodeAt(i)))
  return finish(h, n * 2)
}

function hashV4(ip: number, withPort: boolean, port: number): number {
  const h = mixWord(FLOW_SEED, ip | 0)
  if (withPort) return finish(mixWord(h, port & 0xffff), 6)
  return finish(h, 4)
}

function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c
}

/**
 * A probe stride in [1, m-1] derived from a flow hash by a second, independent
 * mix (murmur3 finaliser with a fixed tweak). Returns a small integer, so the
 * result is never boxed even when the call is not inlined. Deterministic.
 */
export function probeStride(hash: number, m: number): number {
  const x = finish(mixWord(0x2f3a5b71, hash | 0), 4)
  return (x % (m - 1)) + 1
}

/**
 * A uint32 hash of a backend's stable id (its UTF-16 code units, case kept),
 * with a caller-chosen seed so one id yields independent hashes (maglev's
 * offset and skip). Deterministic; no allocation.
 */
export function hashId(id: string, seed: number): number {
  let h = seed | 0
  const n = id.length
  let i = 0
  for (; i + 1 < n; i += 2) h = mixWord(h, (id.charCodeAt(i) << 16) | id.charCodeAt(i + 1))
  if (i < n) h = mixWord(h, id.charCodeAt(i))
  return finish(h, n * 2)
}
