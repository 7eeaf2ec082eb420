// The one config builder for tests: a valid l4lb document (the YAML shape,
// kebab-case keys, durations as text) over fixture backends, with overrides
// merged in by key, so a test states only what it changes. Text fragments
// spliced into YAML, and `.replace()` on rendered YAML, are what it replaces.
import YAML from 'yaml'
import { parseConfig } from '../../src/config/load.ts'
import type { Config } from '../../src/config/types.ts'

/** A document or part of one: what YAML.parse would give. */
export type Doc = { [key: string]: unknown }

/** A backend the config points at: fixtures, fakes, or a refused port. */
export interface Upstream {
  readonly name: string
  readonly port: number
}

/** What a test changes; every part is optional and merged by key (lists are replaced whole). */
export interface ConfigOver {
  /** Keys of `workers` and the other top-level sections (timeouts, shutdown, admin, log, ...). */
  top?: Doc
  /** Keys of the first listener (`name`, `bind`, `maxconn`, `proxy-protocol`, ...). */
  listener?: Doc
  /** Keys of the first pool (`policy`, `hash-key`, `retries`, `health`, `passive`, ...). */
  pool?: Doc
  /** Extra keys for backend `b` (the i-th): `{ weight: 0 }`, `{ backup: true }`. */
  backend?: (b: Upstream, i: number) => Doc | undefined
  /** More listeners after the first, whole (each names its `pool` if there are several). */
  extraListeners?: readonly Doc[]
  /** More pools after the first, whole (with their own backends). */
  extraPools?: readonly Doc[]
}

/** Test defaults: one worker, listener `test` on 127.0.0.1:0, round-robin, no checks, admin off, silent. */
export const BASE: ConfigOver = {
  top: { workers: 1, admin: { enabled: false }, log: { level: 'silent', connections: false } },
  listener: { name: 'test', bind: '127.0.0.1:0' },
  pool: { name: 'pool', policy: 'round-robin', 'hash-key': 'src-ip', retries: 2, health: { type: 'none' } },
}

const pick = (d: Doc | undefined, keys: readonly string[]): Doc => Object.fromEntries(Object.entries(d ?? {}).filter(([k]) => keys.includes(k)))

const isDoc = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v)

/** `over` merged into `base` by key, recursively for maps; lists and scalars replace. Neither input is changed. */
export function merge(base: Doc, over: Doc | undefined): Doc {
  const out: Doc = { ...base }
  for (const [k, v] of Object.entries(over ?? {})) out[k] = isDoc(v) && isDoc(out[k]) ? merge(out[k], v) : v
  return out
}

/** Several layers of overrides in order, later ones winning key by key. */
export function layer(...overs: readonly ConfigOver[]): ConfigOver {
  return overs.reduce<ConfigOver>((acc, o) => ({
    top: merge(acc.top ?? {}, o.top),
    listener: merge(acc.listener ?? {}, o.listener),
    pool: merge(acc.pool ?? {}, o.pool),
    backend: o.backend ?? acc.backend,
    extraListeners: [...(acc.extraListeners ?? []), ...(o.extraListeners ?? [])],
    extraPools: [...(acc.extraPools ?? []), ...(o.extraPools ?? [])],
  }), {})
}

/** The document for one listener and one pool over `backends` (id = name, host 127.0.0.1), `over` on top of BASE.
 * `over.top.listeners` / `over.top.pools`, when given, replace those lists whole. */
export function configDoc(backends: readonly Upstream[], over: ConfigOver = {}): Doc {
  const o = layer(BASE, over)
  const entries = backends.map((b, i) => merge({ id: b.name, host: '127.0.0.1', port: b.port }, o.backend?.(b, i)))
  // `top` may replace the lists whole (several listeners or pools); otherwise the one of each.
  const listeners = [o.listener, ...(o.extraListeners ?? [])]
  const pools = [{ ...o.pool, backends: entries }, ...(o.extraPools ?? [])]
  return merge({ ...o.top, listeners, pools }, pick(o.top, ['listeners', 'pools']))
}

/** configDoc as YAML text, for a config file. */
export function configYaml(backends: readonly Upstream[], over: ConfigOver = {}): string {
  return YAML.stringify(configDoc(backends, over))
}

/** configDoc validated into a Config; throws listing every error and the document when it is invalid. */
export function buildConfig(backends: readonly Upstream[], over: ConfigOver = {}): Config {
  const yaml = configYaml(backends, over)
  const r = parseConfig(yaml)
  if (!r.ok) throw new Error(`bad test config: ${JSON.stringify(r.errors)}\n${yaml}`)
  return r.config
}
