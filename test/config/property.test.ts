// Property (issue 6), 10,000 invalid configs in all: mutations of valid configs (wrong types, out-of-range
// numbers, unknown keys, deleted required keys, bad host:ports and durations)
// and random YAML never make parseConfig throw; each is rejected with at least
// one error; an error sits at the mutated key; and every error path is a real
// key path (in the schema or in the document) or a YAML position.
//
// The invalid values are listed here per kind of node, by hand, so the test
// does not borrow the validator's own idea of what is valid.
import t from 'tap'
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse, stringify } from 'yaml'
import type { Node } from '../../src/config/dsl.ts'
import { collect, invalidValues, pathText, type Seg, type Site } from '../helpers/config-sites.ts'
import { parseConfig } from '../../src/config/load.ts'
import { schema } from '../../src/config/schema.ts'


const root = join(import.meta.dirname, '..', '..')
// Fixed so CI is reproducible; FC_SEED=<n> explores other cases.
const seed = Number(process.env.FC_SEED ?? 6)
const [full, minimal] = ['l4lb.yaml', 'minimal.yaml'].map((f) => parse(readFileSync(join(root, 'examples', f), 'utf8')))
// The full example with two of its four proxies (one overrides send-proxy):
// every kind of node stays in reach, and each run parses less YAML.
full.pools[0].backends = [full.pools[0].backends[0], full.pools[0].backends[2]]
const bases: unknown[] = [full, minimal]


const sitesByBase = bases.map((b) => {
  const out: Site[] = []
  collect(schema as Node<unknown>, b, [], true, out)
  return out.slice(1) // not the root itself
})


// Sites are referred to by index so a counterexample prints small.
type Mutation = { kind: 'set'; site: number; value: unknown } | { kind: 'delete'; site: number } | { kind: 'unknown'; site: number; key: string }

const strangeKeys = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'toString', 'hashKey', 'bnd', 'a.b', ''))

const indexes = (sites: readonly Site[], keep: (s: Site) => boolean): number[] =>
  sites.flatMap((s, i) => (keep(s) ? [i] : []))

const mutation: fc.Arbitrary<{ base: number; m: Mutation }> = fc.nat({ max: bases.length - 1 }).chain((base) => {
  const sites = sitesByBase[base]
  const objects = indexes(sites, (s) => s.present && s.node.kind === 'object')
  const required = indexes(sites, (s) => s.required)
  const m: fc.Arbitrary<Mutation> = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.nat({ max: sites.length - 1 })
        .chain((site) => fc.constantFrom(...invalidValues(sites[site].node)).map((value) => ({ kind: 'set' as const, site, value }))),
    },
    { weight: 1, arbitrary: fc.constantFrom(...required).map((site) => ({ kind: 'delete' as const, site })) },
    {
      weight: 2,
      arbitrary: fc.tuple(fc.constantFrom(-1, ...objects), strangeKeys) // -1: the root mapping
        .filter(([site, key]) => !Object.hasOwn((site < 0 ? schema : sites[site].node).fields ?? {}, key))
        .map(([site, key]) => ({ kind: 'unknown' as const, site, key })),
    },
  )
  return m.map((mm) => ({ base, m: mm }))
})

function apply(base: number, m: Mutation): { doc: unknown; at: string } {
  const doc = structuredClone(bases[base]) as Record<string | number, unknown>
  const path = m.site < 0 ? [] : sitesByBase[base][m.site].path
  if (m.kind === 'unknown') {
    const target = path.reduce<Record<Seg, unknown>>((o, s) => o[s] as Record<Seg, unknown>, doc)
    // defineProperty, so "__proto__" becomes an own key as YAML would make it
    Object.defineProperty(target, m.key, { value: 1, enumerable: true, configurable: true, writable: true })
    return { doc, at: pathText([...path, m.key]) }
  }
  const parent = path.slice(0, -1).reduce<Record<Seg, unknown>>((o, s) => o[s] as Record<Seg, unknown>, doc)
  const last = path[path.length - 1]
  if (m.kind === 'delete') delete parent[last]
  else parent[last] = m.value
  return { doc, at: pathText(path) }
}

// A real path: follows the schema key by key, or names a key present in the document.
function isRealPath(path: string, doc: unknown): boolean {
  if (path === '' || /^line \d+, column \d+$/.test(path)) return true
  const segs: Seg[] = []
  const re = /^(?:\.?([A-Za-z0-9_-]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\])/
  for (let rest = path; rest.length > 0;) {
    const m = re.exec(rest)
    if (m === null) return false
    segs.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : (JSON.parse(m[3]) as string)))
    rest = rest.slice(m[0].length)
  }
  let node: Node<unknown> | undefined = schema as Node<unknown>
  let value: unknown = doc
  let inSchema = true
  for (const s of segs) {
    const n: Node<unknown> | undefined = node?.kind === 'nullable' ? node.inner : node
    node = typeof s === 'number' ? (n?.kind === 'list' ? n.item : undefined) : n?.fields?.[s]?.node
    inSchema &&= node !== undefined && (typeof s === 'number' || Object.hasOwn(n?.fields ?? {}, s))
    value = value !== null && typeof value === 'object' && Object.hasOwn(value, s) ? (value as Record<Seg, unknown>)[s] : undefined
  }
  return inSchema || value !== undefined
}

function checkRejected(text: string, doc: unknown, at: string | undefined): string | undefined {
  const r = parseConfig(text, { cpus: 2 })
  if (r.ok) return 'accepted'
  if (r.errors.length === 0) return 'no errors'
  const fake = r.errors.find((e) => !isRealPath(e.path, doc))
  if (fake) return `not a real path: ${JSON.stringify(fake)}`
  if (at !== undefined && !r.errors.some((e) => e.path === at)) return `no error at ${at}: ${JSON.stringify(r.errors)}`
  return undefined
}

t.test('8,000 mutated configs are rejected with an error at the mutated key', async (t) => {
  let runs = 0
  const started = performance.now()
  // Block YAML, or JSON (which is flow-style YAML), as users write both.
  fc.assert(fc.property(mutation, fc.boolean(), ({ base, m }, asJson) => {
    runs++
    const { doc, at } = apply(base, m)
    const problem = checkRejected(asJson ? JSON.stringify(doc) : stringify(doc), doc, at)
    if (problem) throw new Error(`${m.kind} at ${at}: ${problem}`)
  }), { numRuns: 8000, seed: seed + 0 })
  t.equal(runs, 8000)
  t.comment(`8,000 mutated configs in ${Math.round(performance.now() - started)} ms`)
})

t.test('2,000 random YAML texts and structures are rejected, never thrown on', async (t) => {
  let runs = 0
  const anyDoc = fc.oneof(
    fc.anything({ maxDepth: 3 }),
    fc.record({ listeners: fc.anything({ maxDepth: 3 }), pools: fc.anything({ maxDepth: 3 }) }, { requiredKeys: [] }),
  )
  fc.assert(fc.property(anyDoc, (doc) => {
    runs++
    let text: string | undefined
    try {
      text = stringify(doc)
    } catch {
      return // not every JS value has a YAML form
    }
    if (typeof text !== 'string') return // stringify(undefined)
    const problem = checkRejected(text, parse(text, { logLevel: 'error' }), undefined)
    if (problem) throw new Error(problem)
  }), { numRuns: 1000, seed: seed + 1 })
  fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 })), (text) => {
    runs++
    let doc: unknown
    try {
      doc = parse(text, { logLevel: 'error' })
    } catch {
      doc = undefined
    }
    const problem = checkRejected(text, doc, undefined)
    if (problem) throw new Error(problem)
  }), { numRuns: 1000, seed: seed + 2 })
  t.equal(runs, 2000, 'no throw, always an error with a real path')
})

t.test('cut or spliced valid YAML never throws, and any error path is real', async (t) => {
  const text = readFileSync(join(root, 'examples', 'l4lb.yaml'), 'utf8')
  fc.assert(fc.property(fc.nat({ max: text.length }), fc.string({ maxLength: 4 }), (cut, insert) => {
    const spliced = text.slice(0, cut) + insert + text.slice(cut + (insert.length > 0 ? 1 : text.length))
    const r = parseConfig(spliced, { cpus: 2 })
    if (r.ok) return
    let doc: unknown
    try {
      doc = parse(spliced, { logLevel: 'error' })
    } catch {
      doc = undefined
    }
    const fake = r.errors.find((e) => !isRealPath(e.path, doc))
    if (fake) throw new Error(`not a real path: ${JSON.stringify(fake)}`)
  }), { numRuns: 500, seed: seed + 3 })
  t.pass()
})
