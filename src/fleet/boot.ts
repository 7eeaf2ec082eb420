// Start of a fleet node: the file's node-local part, then the shared part from
// the store; when the store cannot be read (or holds nothing valid), the
// last-known-good file. Nothing here throws; a node with neither cannot start.
import { readFile } from 'node:fs/promises'
import type { Etcd3 } from 'etcd3'
import { decodeConfig, parseYaml } from '../config/load.ts'
import { isMapping } from '../config/dsl.ts'
import { formatErrors } from '../config/format.ts'
import type { Config, ConfigResult, FleetConfig } from '../config/types.ts'
import { CODES, type ErrorCode } from '../errors.ts'
import { composeConfig, describeSource } from './compose.ts'
import { readLastKnownGood } from './lkg.ts'
import { fleetKeys, storeError } from './store.ts'
import { decodeHealthDoc, type HealthDoc } from './health-doc.ts'

/** The node's file: its raw mapping (for composing) and its validated local Config. */
export type LocalPart = { ok: true; raw: Readonly<Record<string, unknown>>; config: Config & { fleet: FleetConfig } } | { ok: false; result: ConfigResult; noFleet?: true }

/** Read and validate the node's file; `ok: false` carries the file's errors (or "fleet: is missing", then with `noFleet`). */
export async function readLocal(path: string): Promise<LocalPart> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    return { ok: false, result: { ok: false, code: CODES.LB_ERR_CONFIG_READ, errors: [{ path, message: `cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})` }] } }
  }
  const raw = parseYaml(text)
  if (!raw.ok) return { ok: false, result: { ok: false, code: CODES.LB_ERR_CONFIG_INVALID, errors: raw.errors } }
  const r = decodeConfig(raw.value)
  if (!r.ok) return { ok: false, result: r }
  if (r.config.fleet === null || !isMapping(raw.value)) return { ok: false, result: { ok: false, code: CODES.LB_ERR_CONFIG_INVALID, errors: [{ path: 'fleet', message: 'a fleet node\'s file must keep its fleet section; restart l4lb to leave the fleet' }] }, noFleet: true }
  return { ok: true, raw: raw.value, config: r.config as Config & { fleet: FleetConfig } }
}

/** The shared part a node starts with. */
export interface BootShared {
  readonly text: string
  readonly revision: number // mod revision in the store (from the file's header for last-known-good)
  readonly fromLastKnownGood: boolean
}

export type BootResult =
  | { ok: true; config: Config; shared: BootShared; health: HealthDoc | null; storeProblem: string | null; rejected: { revision: number; errors: string[] } | null }
  | { ok: false; message: string; code: ErrorCode } // LB_ERR_FLEET_STORE: no store and no last-known-good

/**
 * The effective config at start: local part + the store's value; on a store
 * that cannot be read, or a value that is absent or invalid, the
 * last-known-good file (with `storeProblem` saying why). Also reads the
 * leader's current health document so a late joiner adopts it at once.
 */
export async function fleetBoot(path: string, client: Etcd3): Promise<BootResult> {
  const local = await readLocal(path)
  if (!local.ok) return { ok: false, message: formatErrors(local.result.ok ? [] : local.result.errors), code: local.result.ok ? CODES.LB_ERR_CONFIG_INVALID : local.result.code }
  const fleet = local.config.fleet
  const keys = fleetKeys(fleet.prefix)
  let storeProblem: string | null = null
  let rejected: { revision: number; errors: string[] } | null = null
  let health: HealthDoc | null = null
  try {
    const [r, h] = await Promise.all([client.get(keys.config).exec(), client.get(keys.health).exec()])
    const hd = h.kvs[0] === undefined ? null : decodeHealthDoc(h.kvs[0].value.toString())
    health = hd instanceof Error ? null : hd
    const kv = r.kvs[0]
    if (kv === undefined) storeProblem = `no fleet config at ${keys.config} (l4lb fleet push -c FILE stores one)`
    else {
      const text = kv.value.toString()
      const revision = Number(kv.mod_revision)
      const c = composeConfig(local.raw, fleet, text, { key: keys.config, revision })
      if (c.ok) return { ok: true, config: c.config, shared: { text, revision, fromLastKnownGood: false }, health, storeProblem: null, rejected: null }
      const errors = formatErrors(c.errors).split('\n')
      rejected = { revision, errors }
      storeProblem = `the value at ${keys.config} revision ${revision} is invalid`
    }
  } catch (err) {
    storeProblem = `fleet store unreachable (${fleet.endpoints.join(', ')}): ${storeError(err)}`
  }
  const lkg = await readLastKnownGood(fleet.stateFile)
  const problems = [storeProblem, ...(rejected?.errors ?? [])].join('\n')
  if (lkg === null) return { ok: false, message: `${problems}\nno last-known-good fleet config at ${fleet.stateFile}`, code: rejected === null ? CODES.LB_ERR_FLEET_STORE : CODES.LB_ERR_CONFIG_INVALID }
  const source = { key: lkg.key, revision: lkg.revision, from: `last-known-good ${fleet.stateFile} (revision ${lkg.revision})` }
  const c = composeConfig(local.raw, fleet, lkg.text, source)
  if (!c.ok) return { ok: false, message: `${problems}\n${describeSource(source)} is invalid too:\n${formatErrors(c.errors)}`, code: CODES.LB_ERR_CONFIG_INVALID }
  return { ok: true, config: c.config, shared: { text: lkg.text, revision: lkg.revision, fromLastKnownGood: true }, health, storeProblem, rejected }
}
