// Scalar nodes of the schema DSL. Wrong JS type reads "expected X, got Y";
// right type, wrong content reads "<value> is not X" or "... is out of range".
import type { HostPort } from './types.ts'
import { BAD, type Node } from './dsl.ts'
import {
  isHost, parseCidr, parseDuration, parseHostPort, parseStatusRange, show, suggest,
} from './values.ts'

const range = (min: number, max: number): string => (max === Infinity ? `>= ${min}` : `${min}..${max}`)
const outOfRange = (v: number, min: number, max: number): string =>
  max === Infinity ? `${v} is below the minimum ${min}` : `${v} is out of range ${min}..${max}`

/** Integer in [min, max]. */
export function int(min: number, max = Infinity): Node<number> {
  const json: Record<string, unknown> = { type: 'integer', minimum: min }
  if (max !== Infinity) json.maximum = max
  return {
    kind: 'int',
    type: `integer ${range(min, max)}`,
    json,
    decode(raw, path, errors) {
      if (typeof raw !== 'number') errors.push({ path, message: `expected an integer, got ${show(raw)}` })
      else if (!Number.isInteger(raw)) errors.push({ path, message: `${raw} is not an integer` })
      else if (raw < min || raw > max) errors.push({ path, message: outOfRange(raw, min, max) })
      else return raw
      return BAD
    },
  }
}

/** Finite number in [min, max]. */
export function num(min: number, max = Infinity): Node<number> {
  const json: Record<string, unknown> = { type: 'number', minimum: min }
  if (max !== Infinity) json.maximum = max
  return {
    kind: 'number',
    type: `number ${range(min, max)}`,
    json,
    decode(raw, path, errors) {
      if (typeof raw !== 'number' || !Number.isFinite(raw)) errors.push({ path, message: `expected a number, got ${show(raw)}` })
      else if (raw < min || raw > max) errors.push({ path, message: outOfRange(raw, min, max) })
      else return raw
      return BAD
    },
  }
}

export function bool(): Node<boolean> {
  return {
    kind: 'bool',
    type: 'boolean',
    json: { type: 'boolean' },
    decode(raw, path, errors) {
      if (typeof raw === 'boolean') return raw
      errors.push({ path, message: `expected true or false, got ${show(raw)}` })
      return BAD
    },
  }
}

/** Non-empty string; `pattern` (described by `what`) when given. */
export function str(pattern?: RegExp, what = 'string'): Node<string> {
  const json: Record<string, unknown> = { type: 'string', minLength: 1 }
  if (pattern) json.pattern = pattern.source
  return {
    kind: 'string',
    type: what,
    json,
    decode(raw, path, errors) {
      if (typeof raw !== 'string') errors.push({ path, message: `expected a string, got ${show(raw)}` })
      else if (raw.length === 0) errors.push({ path, message: 'must not be empty' })
      else if (pattern && !pattern.test(raw)) errors.push({ path, message: `${show(raw)} is not a valid ${what}` })
      else return raw
      return BAD
    },
  }
}

/** One of the listed strings. */
export function oneOf<T extends string>(values: readonly T[]): Node<T> {
  return {
    kind: 'enum',
    type: values.map((v) => `\`${v}\``).join(' \\| '),
    json: { type: 'string', enum: [...values] },
    values,
    decode(raw, path, errors) {
      if (typeof raw === 'string' && (values as readonly string[]).includes(raw)) return raw as T
      const hint = typeof raw === 'string' ? suggest(raw, values) : undefined
      const tail = hint ? ` (did you mean "${hint}"?)` : ''
      errors.push({ path, message: `${show(raw)} is not one of ${values.join(', ')}${tail}` })
      return BAD
    },
  }
}

const DURATION = /^\d{1,12}(ms|s|m|h)$/

/** "250ms" | "5s" | "2m" | "1h" | integer milliseconds -> ms, at least `minMs`. */
export function duration(minMs = 0): Node<number> {
  return {
    kind: 'duration',
    type: minMs > 0 ? `duration >= ${minMs}ms` : 'duration',
    json: { type: ['string', 'integer'], pattern: DURATION.source, minimum: minMs },
    decode(raw, path, errors) {
      const ms = parseDuration(raw)
      if (ms === undefined) errors.push({ path, message: `${show(raw)} is not a duration (use 250ms, 5s, 2m, 1h or integer milliseconds)` })
      else if (ms < minMs) errors.push({ path, message: `${show(raw)} is too short (minimum ${minMs}ms)` })
      else return ms
      return BAD
    },
  }
}

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]\s]+):\d{1,5}$/

/** "host:port" or "[v6]:port" -> HostPort, port at least `minPort` (0 = ephemeral allowed). */
export function hostPort(minPort: 0 | 1): Node<HostPort> {
  return {
    kind: 'hostport',
    type: minPort === 0 ? 'host:port (port 0..65535)' : 'host:port (port 1..65535)',
    json: { type: 'string', pattern: HOST_PORT.source },
    decode(raw, path, errors) {
      if (typeof raw !== 'string') {
        errors.push({ path, message: `expected a host:port string, got ${show(raw)}` })
        return BAD
      }
      const hp = parseHostPort(raw)
      if (hp === undefined) errors.push({ path, message: `${show(raw)} is not host:port` })
      else if (hp.port < minPort || hp.port > 65535) errors.push({ path, message: `port ${hp.port} in ${show(raw)} is out of range ${minPort}..65535` })
      else return hp
      return BAD
    },
  }
}

/** IPv4/IPv6 literal (no brackets) or DNS name. */
export function host(): Node<string> {
  return {
    kind: 'host',
    type: 'host (IP address or name)',
    json: { type: 'string', minLength: 1 },
    decode(raw, path, errors) {
      if (typeof raw !== 'string') errors.push({ path, message: `expected a host string, got ${show(raw)}` })
      else if (!isHost(raw)) errors.push({ path, message: `${show(raw)} is not an IP address or host name` })
      else return raw
      return BAD
    },
  }
}

/** "10.0.0.0/8", "::1/128" or a bare address -> normalised "addr/bits". */
export function cidr(): Node<string> {
  return {
    kind: 'cidr',
    type: 'CIDR',
    json: { type: 'string', pattern: '^[0-9A-Fa-f:.]+(/\\d{1,3})?$' },
    decode(raw, path, errors) {
      const c = typeof raw === 'string' ? parseCidr(raw) : undefined
      if (c !== undefined) return c
      errors.push({ path, message: `${show(raw)} is not a CIDR (like 10.0.0.0/8 or ::1/128)` })
      return BAD
    },
  }
}

/** 200 | "200-399" -> inclusive [lo, hi] within 100..599. */
export function statusRange(): Node<readonly [number, number]> {
  return {
    kind: 'status',
    type: 'status or range (e.g. 200-399)',
    json: { type: ['string', 'integer'], pattern: '^\\d{3}(-\\d{3})?$', minimum: 100, maximum: 599 },
    decode(raw, path, errors) {
      const r = parseStatusRange(raw)
      if (r !== undefined) return r
      errors.push({ path, message: `${show(raw)} is not an HTTP status or range within 100-599 (like 200-399)` })
      return BAD
    },
  }
}
