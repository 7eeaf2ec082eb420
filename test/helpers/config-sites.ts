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
