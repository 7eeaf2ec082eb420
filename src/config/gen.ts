// Regenerates schema/l4lb.schema.json and docs/configuration.md from the
// schema: `node src/config/gen.ts`. With `--check` it writes nothing and
// exits 1 if either file is out of date (what the sync test also asserts).
import { readFile, writeFile, mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { docsText, DOCS_PATH } from './docs.ts'
import { jsonSchemaText, SCHEMA_PATH } from './json-schema.ts'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const check = process.argv.includes('--check')
let stale = 0

for (const [rel, text] of [[SCHEMA_PATH, jsonSchemaText()], [DOCS_PATH, docsText()]] as const) {
  const file = join(root, rel)
  const current = await readFile(file, 'utf8').catch(() => undefined)
  if (current === text) {
    console.log(`${rel}: up to date`)
  } else if (check) {
    console.log(`${rel}: out of date (run node src/config/gen.ts)`)
    stale++
  } else {
    await mkdir(dirname(file), { recursive: true })
    await writeFile(file, text)
    console.log(`${rel}: written`)
  }
}
process.exitCode = stale > 0 ? 1 : 0
