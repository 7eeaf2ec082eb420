// Entry points: YAML text -> validated, normalised, deep-frozen Config, or
// every error found. parseConfig is pure apart from reading the CPU count
// (for `workers: 0`), which callers may pass in. Nothing here throws.
import { readFile } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { LineCounter, parseDocument } from 'yaml'
import type { Config, ConfigError, ConfigResult } from './types.ts'
import { BAD, isMapping } from './dsl.ts'
import { SHARED_KEYS } from './schema-fleet.ts'
import { schema } from './schema.ts'
import { CODES } from '../errors.ts'
import { deepFreeze } from '../freeze.ts'

export { formatErrors } from './format.ts'

export interface ParseOptions {
  readonly cpus?: number // what `workers: 0` becomes; default os.availableParallelism()
}

const MAX_BYTES = 4 * 1024 * 1024 // a config is a few KB; refuse to parse a runaway file

/** YAML text -> { ok: true, config } or { ok: false, code: LB_ERR_CONFIG_INVALID, errors } (every error, document order). */
export function parseConfig(text: string, options: ParseOptions = {}): ConfigResult {
  if (text.length > MAX_BYTES) return fail('', `config is larger than ${MAX_BYTES} bytes`)
  const raw = parseYaml(text)
  if (!raw.ok) return { ok: false, code: CODES.LB_ERR_CONFIG_INVALID, errors: raw.errors }
  if (raw.value === null || raw.value === undefined) {
    return fail('', 'config is empty: expected a mapping with at least "listeners" and "pools"')
  }
  return decodeConfig(raw.value, options)
}

/**
 * A parsed YAML value -> the same result as parseConfig. With `fleet:` set the
 * value is a node's local part: `pools`/`timeouts` must be absent (they come
 * from the store, src/fleet/compose.ts) and `pools` is empty until composed.
 */
export function decodeConfig(value: unknown, options: ParseOptions = {}): ConfigResult {
  const errors: ConfigError[] = []
  const config = schema.decode(value, '', errors)
  if (config !== BAD && config.fleet != null && isMapping(value)) {
    for (const key of SHARED_KEYS) {
      if (Object.hasOwn(value, key)) errors.push({ path: key, message: `comes from the fleet store (${config.fleet.prefix}/config) when fleet is set; remove it from this file` })
    }
  }
  if (config === BAD || errors.length > 0) {
    if (errors.length === 0) errors.push({ path: '', message: 'invalid config' }) // defensive: BAD always comes with an error
    return { ok: false, code: CODES.LB_ERR_CONFIG_INVALID, errors }
  }
  const workers = config.workers === 0 ? Math.max(1, options.cpus ?? availableParallelism()) : config.workers
  return { ok: true, config: deepFreeze({ ...config, pools: config.pools ?? [], workers }) }
}

/**
 * Reads and parses a file. A missing or unreadable file (or a directory) is
 * one error naming the path, with code LB_ERR_CONFIG_READ; otherwise as
 * parseConfig.
 */
export async function loadConfigFile(path: string, options: ParseOptions = {}): Promise<ConfigResult> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a directory' : `cannot read (${code ?? String(err)})`
    return { ok: false, code: CODES.LB_ERR_CONFIG_READ, errors: [{ path, message: why }] }
  }
  return parseConfig(text, options)
}

export type RawResult = { ok: true; value: unknown } | { ok: false; errors: readonly ConfigError[] }

/** YAML text -> its plain value, or errors whose path is the position: `line 3, column 5: ...`. */
export function parseYaml(text: string): RawResult {
  const lineCounter = new LineCounter()
  try {
    const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, logLevel: 'error' })
    if (doc.errors.length > 0) {
      return {
        ok: false,
        errors: doc.errors.map((e) => {
          const { line, col } = lineCounter.linePos(e.pos[0])
          return { path: `line ${line}, column ${col}`, message: e.message.split('\n')[0] }
        }),
      }
    }
    return { ok: true, value: doc.toJS({ maxAliasCount: 100 }) }
  } catch (err) {
    // toJS throws on alias bombs and on keys it cannot turn into strings.
    return { ok: false, errors: [{ path: '', message: `cannot read YAML: ${(err as Error).message}` }] }
  }
}

function fail(path: string, message: string): ConfigResult {
  return { ok: false, code: CODES.LB_ERR_CONFIG_INVALID, errors: [{ path, message }] }
}

export type { Config }
