// Generated invalid configs for the reload tests, adapted from
// test/config/property.test.ts (which exports nothing): take a running,
// valid config document and break it in one place (a wrong value for the
// kind of key, a deleted required key, an unknown key), or replace it by
// garbage YAML. Each comes with the key path an error must name ('' when the
// whole text is garbage: the error then names a YAML position).
import fc from 'fast-check'
import { parse, stringify } from 'yaml'
import type { Node } from '../../src/config/dsl.ts'
import { collect, invalidValues, pathText, type Seg, type Site } from '../helpers/config-sites.ts'
import { schema } from '../../src/config/schema.ts'


export interface InvalidConfig {
  readonly text: string
  /** The key path an error must name; null: garbage text, any YAML position will do. */
  readonly at: string | null
  readonly kind: 'set' | 'delete' | 'unknown' | 'garbage'
}




const garbage = ['listeners: [', 'pools:\n  - name: a\n   bad-indent: 1', ': : :', 'a: b\na: c', '\t- tab', '{', '"unterminated']

/** `count` invalid variants of the valid YAML `validYaml`, reproducible from `seed`. */
export function invalidConfigs(validYaml: string, count: number, seed: number): InvalidConfig[] {
  const base = parse(validYaml) as Record<string, unknown>
  const sites: Site[] = []
  collect(schema as Node<unknown>, base, [], true, sites)
  sites.shift() // not the root itself
  const present = sites.flatMap((s, i) => (s.present ? [i] : []))
  const required = sites.flatMap((s, i) => (s.required && s.present ? [i] : []))
  const objects = sites.flatMap((s, i) => (s.present && s.node.kind === 'object' ? [i] : []))
  const gen = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...present).chain((site) => fc.constantFrom(...invalidValues(sites[site].node)).map((value) => ({ kind: 'set' as const, site, value }))) },
    { weight: 1, arbitrary: fc.constantFrom(...required).map((site) => ({ kind: 'delete' as const, site, value: null })) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom(-1, ...objects), fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/)).filter(([site, key]) => !Object.hasOwn((site < 0 ? schema : sites[site].node).fields ?? {}, key)).map(([site, key]) => ({ kind: 'unknown' as const, site, value: key })) },
    { weight: 1, arbitrary: fc.constantFrom(...garbage).map((g) => ({ kind: 'garbage' as const, site: -1, value: g })) },
  )
  return fc.sample(gen, { numRuns: count, seed }).map((m): InvalidConfig => {
    if (m.kind === 'garbage') return { text: m.value as string, at: null, kind: 'garbage' }
    const doc = structuredClone(base)
    const path = m.site < 0 ? [] : sites[m.site].path
    const walk = (segs: Seg[]): Record<Seg, unknown> => segs.reduce<Record<Seg, unknown>>((o, s) => o[s] as Record<Seg, unknown>, doc)
    if (m.kind === 'unknown') {
      walk(path)[m.value as string] = 1
      return { text: stringify(doc), at: pathText([...path, m.value as string]), kind: 'unknown' }
    }
    const parent = walk(path.slice(0, -1))
    const last = path[path.length - 1]
    if (m.kind === 'delete') delete parent[last]
    else parent[last] = m.value
    return { text: stringify(doc), at: pathText(path), kind: m.kind }
  })
}
