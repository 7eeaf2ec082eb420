// A small schema DSL: every node knows how to decode (validate + normalise) a
// raw YAML value, its JSON Schema fragment, a short type text for the docs and
// its kind (tests use the kind to pick values that must be rejected). Objects
// hold fields with their doc text and default side by side, so the decoder,
// the published JSON Schema and docs/configuration.md come from one place.
//
// Decoders never throw: they push `{ path, message }` onto `errors` and go on,
// so one pass reports every problem; the caller trusts the value only when
// no error was pushed. Scalars return BAD, containers a partial value.
// Paths use the YAML spelling (`pools[0].maglev-table-size`), since that is
// what the user edits.
// Why our own and not zod or TypeBox (tried on this schema):
// docs/decisions/config-validation.md.
import type { ConfigError } from './types.ts'
import { show, suggest } from './values.ts'
import { type Limit, overLimit } from './limits.ts'

export const BAD: unique symbol = Symbol('bad')
export type Bad = typeof BAD
export type Json = Record<string, unknown>

export type Kind =
  | 'int' | 'number' | 'bool' | 'string' | 'enum' | 'duration' | 'hostport'
  | 'host' | 'cidr' | 'status' | 'list' | 'object' | 'nullable'

export interface Node<T> {
  readonly kind: Kind
  readonly type: string // for the docs, e.g. "integer 0..256"
  readonly json: Json
  readonly fields?: Readonly<Record<string, Field<unknown>>> // kind 'object'
  readonly item?: Node<unknown> // kind 'list'
  readonly inner?: Node<unknown> // kind 'nullable'
  readonly values?: readonly string[] // kind 'enum'
  decode(raw: unknown, path: string, errors: ConfigError[]): T | Bad
}

export interface Field<T> {
  readonly to: string // camelCase name in the normalised Config
  readonly node: Node<T>
  readonly doc: string
  /** YAML-form default, decoded like user input. Absent (and no contextDefault) = required. */
  readonly default?: unknown
  /** Doc text of a default filled in later from context (e.g. "listener-<index>"). */
  readonly contextDefault?: string
  readonly seeAlso?: readonly string[] // doc paths like "pools[].backends"
}

/**
 * What a check sees: the fields that decoded, recursively. Objects are
 * returned even when some of their keys failed, and lists keep their length
 * with `undefined` for items that are not even mappings, so cross-field rules
 * still run (and report) next to unrelated errors.
 */
export type Loose<T> = T extends readonly (infer U)[]
  ? readonly (Loose<U> | undefined)[]
  : T extends object ? { -readonly [K in keyof T]?: Loose<T[K]> } : T

/** Fields typed against the Config interface they produce: `to` must be a key of T. */
export type FieldsOf<T> = Record<string, { [K in keyof T & string]: Field<T[K]> & { readonly to: K } }[keyof T & string]>

export type Report = (subPath: string, message: string) => void

const SIMPLE_KEY = /^[A-Za-z0-9_-]+$/

/** `parent.key`, quoting keys that would make the path ambiguous. */
export function keyPath(parent: string, key: string): string {
  if (!SIMPLE_KEY.test(key)) return `${parent}[${JSON.stringify(key)}]`
  return parent === '' ? key : `${parent}.${key}`
}

export function isMapping(raw: unknown): raw is Record<string, unknown> {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw) && !(raw instanceof Uint8Array)
}

/**
 * A mapping with known keys. Unknown keys are errors (with a "did you mean");
 * missing keys take their default; null reads as an empty mapping (a section
 * whose keys are all commented out). `check` runs cross-field rules and fills
 * context defaults; it sees only the fields that decoded (so one bad key does
 * not hide the other errors), and the raw mapping to tell an absent key from a
 * bad one; it reports at paths relative to this object.
 */
export function obj<T>(fields: FieldsOf<T>, check?: (value: Loose<T>, report: Report, raw: Readonly<Record<string, unknown>>) => void): Node<T> {
  const known = Object.keys(fields)
  const properties: Json = {}
  const required: string[] = []
  for (const [key, f] of Object.entries(fields)) {
    const prop: Json = { ...f.node.json, description: f.doc }
    if (f.default !== undefined && f.node.kind !== 'object') prop.default = f.default
    properties[key] = prop
    if (f.default === undefined && f.contextDefault === undefined) required.push(key)
  }
  const json: Json = { type: 'object', additionalProperties: false, properties }
  if (required.length > 0) json.required = required
  return {
    kind: 'object',
    type: 'mapping',
    json,
    fields: fields as Record<string, Field<unknown>>,
    decode(raw, path, errors) {
      const input = raw === null ? {} : raw
      if (!isMapping(input)) {
        errors.push({ path, message: `expected a mapping, got ${show(raw)}` })
        return BAD
      }
      const got: Record<string, unknown> = {}
      for (const [key, value] of Object.entries(input)) {
        const f = Object.hasOwn(fields, key) ? fields[key] : undefined
        if (f === undefined) {
          const hint = suggest(key, known)
          errors.push({ path: keyPath(path, key), message: hint ? `unknown key (did you mean "${hint}"?)` : 'unknown key' })
          continue
        }
        const v = f.node.decode(value, keyPath(path, key), errors)
        if (v !== BAD) got[key] = v
      }
      for (const key of known) {
        if (Object.hasOwn(input, key)) continue
        const f = fields[key]
        if (f.default !== undefined) {
          // A default that fails to decode is a schema bug; a test decodes every default.
          const v = f.node.decode(f.default, keyPath(path, key), errors)
          if (v !== BAD) got[key] = v
        } else if (f.contextDefault === undefined) {
          errors.push({ path: keyPath(path, key), message: 'required key is missing' })
        }
      }
      const out: Record<string, unknown> = {} // in schema order, whatever the input order
      for (const key of known) if (Object.hasOwn(got, key)) out[fields[key].to] = got[key]
      check?.(out as Loose<T>, (sub, message) => errors.push({ path: joinSub(path, sub), message }), input)
      return out as T
    },
  }
}

// Relative sub-paths come as "a.b" or "a[0].b"; the parent path is prefixed.
function joinSub(parent: string, sub: string): string {
  if (sub === '' || parent === '') return parent + sub
  return sub.startsWith('[') ? parent + sub : `${parent}.${sub}`
}

/** A list of `item`; `min` items at least, with `minMessage` when fewer; at most `max.value` (checked before any item is decoded). */
export function list<T>(item: Node<T>, min = 0, minMessage = `needs at least ${min} item(s)`, max?: Limit): Node<T[]> {
  const json: Json = { type: 'array', items: item.json }
  if (min > 0) json.minItems = min
  if (max !== undefined) json.maxItems = max.value
  return {
    kind: 'list',
    type: max === undefined ? `list of ${item.type}` : `list of ${item.type}, at most ${max.value}`,
    json,
    item: item as Node<unknown>,
    decode(raw, path, errors) {
      if (!Array.isArray(raw)) {
        errors.push({ path, message: `expected a list, got ${show(raw)}` })
        return BAD
      }
      // Over the limit: one error, and none of the items is decoded (a runaway list costs nothing).
      if (max !== undefined && raw.length > max.value) {
        errors.push({ path, message: overLimit(max, raw.length) })
        return BAD
      }
      const out = raw.map((r, i) => {
        const v = item.decode(r, `${path}[${i}]`, errors)
        return v === BAD ? undefined : v
      })
      if (raw.length < min) errors.push({ path, message: minMessage })
      return out as T[]
    },
  }
}

/** `inner` or null. */
export function nullable<T>(inner: Node<T>): Node<T | null> {
  return {
    kind: 'nullable',
    type: `${inner.type} or null`,
    json: { anyOf: [inner.json, { type: 'null' }] },
    inner: inner as Node<unknown>,
    decode: (raw, path, errors) => (raw === null ? null : inner.decode(raw, path, errors)),
  }
}

/** Same node, value transformed after a successful decode (e.g. `connect: {target}` -> target). */
export function map<A, B>(node: Node<A>, fn: (a: A) => B): Node<B> {
  return {
    ...node,
    decode(raw, path, errors) {
      const v = node.decode(raw, path, errors)
      return v === BAD ? BAD : fn(v)
    },
  }
}

/** Same node plus a check on the decoded value: return a message (without the path) or undefined. */
export function refine<T>(node: Node<T>, check: (value: T, raw: unknown) => string | undefined, type = node.type): Node<T> {
  return {
    ...node,
    type,
    decode(raw, path, errors) {
      const v = node.decode(raw, path, errors)
      if (v === BAD) return BAD
      const message = check(v, raw)
      if (message === undefined) return v
      errors.push({ path, message })
      return BAD
    },
  }
}
