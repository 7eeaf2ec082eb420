// The published JSON Schema (schema/l4lb.schema.json), emitted from the same
// schema the loader uses, so editors complete and check exactly what
// `l4lb check` accepts. Rules spanning keys (pool references, prime table
// sizes, unique names) are beyond JSON Schema; `l4lb check` reports them.
import { schema } from './schema.ts'

export const SCHEMA_PATH = 'schema/l4lb.schema.json'

/** The JSON Schema document as an object. */
export function jsonSchema(): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'l4lb configuration',
    description: 'Configuration of l4lb, a userspace L4 TCP load balancer. Generated from src/config/schema.ts by `node src/config/gen.ts`; see docs/configuration.md.',
    ...schema.json,
  }
}

/** The file content: 2-space JSON with a trailing newline. */
export function jsonSchemaText(): string {
  return JSON.stringify(jsonSchema(), null, 2) + '\n'
}
