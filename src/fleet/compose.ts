// The effective config of a fleet node: its file's node-local part plus the
// shared part (pools, timeouts) read from the store key, validated together
// by the same schema as a plain file. Pure: text in, ConfigResult out.
// A store value is rejected like a bad file: not YAML, over STORE_MAX_BYTES,
// a key that is node-local, or anything the schema refuses (a listener's pool
// missing from the store's pools included); every error line names the key
// and the revision it was read at.
import { decodeConfig, parseYaml, type ParseOptions } from '../config/load.ts'
import { isMapping } from '../config/dsl.ts'
import { SHARED_KEYS } from '../config/schema-fleet.ts'
import type { ConfigError, ConfigResult, FleetConfig } from '../config/types.ts'
import { CODES } from '../errors.ts'

/** A fleet config value in etcd is at most this many bytes (etcd's own request limit is 1.5 MiB). */
export const STORE_MAX_BYTES = 1024 * 1024

/** Where a shared part was read: the key and its mod revision (0 = a last-known-good file). */
export interface StoreSource {
  readonly key: string
  readonly revision: number
  readonly from?: string // e.g. "last-known-good /var/lib/l4lb/fleet-config.yaml"
}

/** "fleet store /l4lb/config at revision 42" */
export function describeSource(s: StoreSource): string {
  return s.from ?? `fleet store ${s.key} at revision ${s.revision}`
}

/**
 * The shared part alone: `text` -> its plain mapping, or errors (paths
 * prefixed with the source). Accepts only the SHARED_KEYS. When the only
 * errors are keys that are not shared (node-local ones pasted in), `value`
 * still holds the shared keys, so callers validate those too and report
 * every error at once.
 */
export function parseShared(text: string, source: StoreSource): { ok: true; value: Record<string, unknown> } | { ok: false; errors: ConfigError[]; value?: Record<string, unknown> } {
  const where = describeSource(source)
  const bytes = Buffer.byteLength(text)
  if (bytes > STORE_MAX_BYTES) return { ok: false, errors: [{ path: where, message: `value is ${bytes} bytes, over the limit of ${STORE_MAX_BYTES}` }] }
  const raw = parseYaml(text)
  if (!raw.ok) return { ok: false, errors: raw.errors.map((e) => ({ path: `${where}: ${e.path}`, message: e.message })) }
  if (!isMapping(raw.value)) return { ok: false, errors: [{ path: where, message: `expected a mapping with ${SHARED_KEYS.join(' and ')}` }] }
  const errors: ConfigError[] = []
  for (const key of Object.keys(raw.value)) {
    if (!(SHARED_KEYS as readonly string[]).includes(key)) errors.push({ path: `${where}: ${key}`, message: `not a shared key (the store holds ${SHARED_KEYS.join(' and ')}; the rest stays in each node's file)` })
  }
  if (!Object.hasOwn(raw.value, 'pools')) return { ok: false, errors: [...errors, { path: `${where}: pools`, message: 'required key is missing' }] }
  if (errors.length === 0) return { ok: true, value: raw.value }
  const mapping = raw.value
  return { ok: false, errors, value: Object.fromEntries(SHARED_KEYS.filter((k) => Object.hasOwn(mapping, k)).map((k) => [k, mapping[k]])) }
}

/**
 * Node-local raw mapping (the file, `fleet:` included) + shared text -> the
 * effective Config (deep-frozen, `fleet` kept), or every error. Errors of the
 * local part are the caller's (it validated the file first); here every error
 * is attributed to `source`, or, given `localFile` (the node file's name, as
 * `fleet push --node-config` has it), an error under a node-local key to that
 * file ("node.yaml: listeners[0].pool: no pool named "x" in shared.yaml").
 */
export function composeConfig(local: Readonly<Record<string, unknown>>, fleet: FleetConfig, shared: string, source: StoreSource, options: ParseOptions = {}, localFile?: string): ConfigResult {
  const part = parseShared(shared, source)
  if (!part.ok && part.value === undefined) return { ok: false, code: CODES.LB_ERR_CONFIG_INVALID, errors: part.errors }
  const { fleet: _ignored, ...rest } = local
  const r = decodeConfig({ ...rest, ...part.value }, options)
  const where = describeSource(source)
  const decoded = r.ok ? [] : r.errors.map((e) => {
    const top = /^[^.[]*/.exec(e.path)?.[0] ?? ''
    if (localFile === undefined || (SHARED_KEYS as readonly string[]).includes(top)) return { path: `${where}: ${e.path}`, message: e.message }
    return { path: `${localFile}: ${e.path}`, message: e.message.replace(/^(no pool named "[^"]*")/, `$1 in ${where}`) }
  })
  if (!part.ok) return { ok: false, code: CODES.LB_ERR_CONFIG_INVALID, errors: [...part.errors, ...decoded] }
  if (!r.ok) return { ok: false, code: r.code, errors: decoded }
  return { ok: true, config: Object.freeze({ ...r.config, fleet }) }
}
