// The key sites of a config document, walked along the schema: shared by the
// property test (10,000 invalid configs through the validator) and the reload
// hardening test, which both break a valid document at one site.
import { keyPath, type Node } from '../../src/config/dsl.ts'

export type Seg = string | number
export interface Site { readonly path: Seg[]; readonly node: Node<unknown>; readonly required: boolean; readonly present: boolean }

export const pathText = (segs: readonly Seg[]): string =>
  segs.reduce<string>((p, s) => (typeof s === 'number' ? `${p}[${s}]` : keyPath(p, s)), '')

/** Every key of every mapping present in `value` (and absent fields of the schema), and every list item. */
export function collect(node: Node<unknown>, value: unknown, path: Seg[], required: boolean, out: Site[]): void {
  out.push({ path, node, required, present: true })
  const n = node.kind === 'nullable' && node.inner ? node.inner : node
  if (n.kind === 'object' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, f] of Object.entries(n.fields ?? {})) {
      const req = f.default === undefined && f.contextDefault === undefined
      const child = (value as Record<string, unknown>)[k]
      if (child === undefined) out.push({ path: [...path, k], node: f.node, required: req, present: false })
      else collect(f.node, child, [...path, k], req, out)
    }
  } else if (n.kind === 'list' && n.item && Array.isArray(value)) {
    value.forEach((v, i) => collect(n.item as Node<unknown>, v, [...path, i], false, out))
  }
}

const things = [[], { a: 1 }, true]

/** Values that must be rejected where `node` stands: listed by hand per kind of node, so the
 * generators do not borrow the validator's own idea of what is valid. */
export function invalidValues(node: Node<unknown>): unknown[] {
  const json = node.json as { minimum?: number; maximum?: number }
  switch (node.kind) {
    case 'int': return ['1', 'x', null, ...things, (json.minimum ?? 0) - 1, (json.minimum ?? 0) + 0.5, ...(json.maximum === undefined ? [] : [json.maximum + 1])]
    case 'number': return ['1', null, ...things, (json.minimum ?? 0) - 1, ...(json.maximum === undefined ? [] : [json.maximum + 1])]
    case 'bool': return ['true', 'yes', 0, 1, null, [], {}]
    case 'string': return ['', 5, null, ...things]
    case 'enum': return ['nope', (node.values?.[0] ?? 'x').toUpperCase(), 5, null, ...things]
    case 'duration': return ['5 s', '1d', '5sec', '5', '', -1, 1.5, null, ...things]
    case 'hostport': return ['1.2.3:80', 'host', '::1:80', '[::1]80', 'h:99999', 'h:', 80, null, ...things, ...(node.type.includes('1..') ? ['h:0'] : [])]
    case 'host': return ['1.2.3', 'bad_host!', '', '[::1]', 5, null, ...things]
    case 'cidr': return ['10.0.0.0/33', 'any', '10.0.0', 5, null, ...things]
    case 'status': return ['600', '399-200', 'ok', true, null, [], {}]
    case 'list': return ['x', 5, null, { a: 1 }, true]
    case 'object': return ['x', 5, [], true] // null is allowed: an empty section takes its defaults
    case 'nullable': return node.inner ? invalidValues(node.inner).filter((v) => v !== null) : []
  }
}
