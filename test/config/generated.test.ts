// The committed JSON Schema and docs/configuration.md equal what the schema
// generates; every default decodes; every key is documented; the editor
// schema knows every key the examples use.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse } from 'yaml'
import type { ConfigError } from '../../src/config/types.ts'
import { BAD, type Node } from '../../src/config/dsl.ts'
import { allKeys, anchor, docsText, DOCS_PATH } from '../../src/config/docs.ts'
import { jsonSchema, jsonSchemaText, SCHEMA_PATH } from '../../src/config/json-schema.ts'

const root = join(import.meta.dirname, '..', '..')
const regen = 'out of date: run node src/config/gen.ts'

t.equal(readFileSync(join(root, SCHEMA_PATH), 'utf8'), jsonSchemaText(), `${SCHEMA_PATH} ${regen}`)
t.equal(readFileSync(join(root, DOCS_PATH), 'utf8'), docsText(), `${DOCS_PATH} ${regen}`)

t.test('every default decodes without error', async (t) => {
  for (const k of allKeys()) {
    if (k.field.default === undefined) continue
    const errors: ConfigError[] = []
    const v = k.field.node.decode(k.field.default, k.path, errors)
    t.same(errors, [], k.path)
    t.not(v, BAD, k.path)
  }
})

t.test('every key has an entry in the docs with meaning, type and default', async (t) => {
  const docs = docsText()
  const keys = allKeys()
  t.ok(keys.length > 60, `schema walk finds the keys (${keys.length})`)
  for (const k of keys) {
    t.ok(k.field.doc.length > 10, `${k.path} has a meaning`)
    const at = docs.indexOf(`<a id="${anchor(k.path)}"></a>`)
    t.ok(at >= 0, `${k.path} has an anchor`)
    const entry = docs.slice(at, docs.indexOf('<a id=', at + 1) >>> 0)
    t.match(entry, /- Type: .+\n- Default: .+/, `${k.path} has type and default`)
  }
})

// A structural walk: keys must exist in `properties`, enums must list the value.
function conforms(value: unknown, schema: Record<string, unknown>, path: string, problems: string[]): void {
  const props = schema.properties as Record<string, Record<string, unknown>> | undefined
  if (props && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (!props[k]) problems.push(`${path}.${k}`)
      else conforms(v, props[k], `${path}.${k}`, problems)
    }
  }
  if (Array.isArray(value) && schema.items) value.forEach((v, i) => conforms(v, schema.items as Record<string, unknown>, `${path}[${i}]`, problems))
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) problems.push(`${path}=${String(value)}`)
}

t.test('the JSON Schema accepts the keys and enum values of the examples', async (t) => {
  for (const name of ['minimal.yaml', 'l4lb.yaml']) {
    const problems: string[] = []
    conforms(parse(readFileSync(join(root, 'examples', name), 'utf8')), jsonSchema(), '', problems)
    t.same(problems, [], name)
  }
  const problems: string[] = []
  conforms({ pools: [{ polcy: 'x', policy: 'nope' }] }, jsonSchema(), '', problems)
  t.same(problems, ['.pools[0].polcy', '.pools[0].policy=nope'], 'the walk does find problems')
})

t.test('every object in the JSON Schema is closed and described', async (t) => {
  const walk = (node: Node<unknown>, path: string): void => {
    if (node.kind === 'object') t.equal(node.json.additionalProperties, false, path)
    for (const [k, f] of Object.entries(node.fields ?? {})) {
      walk(f.node, `${path}.${k}`)
      if (f.node.item) walk(f.node.item, `${path}.${k}[]`)
    }
  }
  for (const k of allKeys().filter((k) => k.depth === 0)) walk(k.field.node, k.path)
  t.equal(jsonSchema().additionalProperties, false)
})
