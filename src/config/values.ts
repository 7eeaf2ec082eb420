// Pure parsers for the scalar formats the YAML accepts: durations, host:port,
// CIDRs, HTTP status ranges, plus the small helpers error messages need
// (showing a value, primes, "did you mean"). Each parser returns the parsed
// value or `undefined` for "not in this format"; the caller words the error.
import { isIP } from 'node:net'

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** "250ms" | "5s" | "2m" | "1h" | integer ms -> ms; anything else -> undefined. */
export function parseDuration(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) && raw >= 0 ? raw : undefined
  if (typeof raw !== 'string') return undefined
  const m = /^(\d{1,12})(ms|s|m|h)$/.exec(raw)
  if (m === null) return undefined
  const ms = Number(m[1]) * UNIT_MS[m[2]]
  return Number.isSafeInteger(ms) ? ms : undefined
}

/** Renders ms back in the unit the docs would use ("30s", "500ms"). */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms !== 0 && ms % size === 0) return `${ms / size}${unit}`
  }
  return `${ms}ms`
}

// RFC 1123 labels; the last label must not be all digits, so "1.2.3" (a
// mistyped IPv4 address) is rejected instead of being looked up as a name.
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/

/** True for IPv4/IPv6 literals (no brackets) and DNS host names. */
export function isHost(host: string): boolean {
  if (isIP(host) !== 0) return true
  if (host.length === 0 || host.length > 253) return false
  const labels = host.replace(/\.$/, '').split('.')
  if (!labels.every((l) => LABEL.test(l))) return false
  return !/^\d+$/.test(labels[labels.length - 1])
}

/**
 * "host:port" or "[v6]:port" -> { host (no brackets), port }; else undefined.
 * The port is up to 5 digits, not range-checked, so the caller can say
 * "out of range" rather than "not host:port".
 */
export function parseHostPort(raw: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(raw)
  if (m === null) return undefined
  const port = Number(m[3])
  if (m[1] !== undefined) return isIP(m[1]) === 6 ? { host: m[1], port } : undefined
  return isHost(m[2]) ? { host: m[2], port } : undefined
}

// One way to print an address and one text per address, shared with the data path.
export { canonicalHost, formatHostPort, isLoopback } from '../net/ip.ts'
// Table sizes are checked with the primes the balancer sizes its tables with.
export { isPrime, nextPrime } from '../balancer/prime.ts'


/** "10.0.0.0/8" | "::1/128" | bare address (made /32 or /128) -> normalised CIDR; else undefined. */
export function parseCidr(raw: string): string | undefined {
  const [addr, bits, extra] = raw.split('/')
  if (extra !== undefined) return undefined
  const family = isIP(addr)
  if (family === 0) return undefined
  const max = family === 4 ? 32 : 128
  if (bits === undefined) return `${addr}/${max}`
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return undefined
  return `${addr}/${Number(bits)}`
}

/** 200 | "200" | "200-399" -> [lo, hi] within 100..599; else undefined. */
export function parseStatusRange(raw: unknown): [number, number] | undefined {
  const text = typeof raw === 'number' ? String(raw) : raw
  if (typeof text !== 'string') return undefined
  const m = /^(\d{3})(?:-(\d{3}))?$/.exec(text)
  if (m === null) return undefined
  const lo = Number(m[1])
  const hi = m[2] === undefined ? lo : Number(m[2])
  return lo >= 100 && hi <= 599 && lo <= hi ? [lo, hi] : undefined
}

/** How a raw YAML value reads in a message: strings quoted, containers named. */
export function show(raw: unknown): string {
  if (raw === null || raw === undefined) return 'null'
  if (typeof raw === 'string') return JSON.stringify(raw.length > 60 ? raw.slice(0, 57) + '...' : raw)
  if (Array.isArray(raw)) return 'a list'
  if (typeof raw === 'object') return 'a mapping'
  return String(raw)
}

function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 99
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length]
}

const canon = (s: string): string => s.replace(/([a-z])([A-Z])/g, '$1-$2').replace(/_/g, '-').toLowerCase()

/**
 * The closest candidate (camelCase/snake_case spellings and typos, within an
 * edit distance of 2; 1 for words of 3 letters or fewer), else the one
 * candidate that starts with an unfinished key of 4 letters or more
 * (`min-retry` -> `min-retry-concurrency`), or undefined.
 */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  if (word.length > 100) return undefined
  let best: string | undefined
  let bestScore = Infinity
  for (const c of candidates) {
    const score = canon(word) === c ? 0 : distance(canon(word), c)
    if (score < bestScore) [best, bestScore] = [c, score]
  }
  const limit = word.length <= 3 ? 1 : 2
  if (bestScore <= limit) return best
  const start = canon(word)
  const longer = start.length >= 4 ? candidates.filter((c) => c.startsWith(start)) : []
  return longer.length === 1 ? longer[0] : undefined
}
