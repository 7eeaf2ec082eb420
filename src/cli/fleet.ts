// `l4lb fleet push -c FILE` and `l4lb fleet status`: the operator's side of
// the fleet store (docs/fleet.md). push validates the shared part first and
// writes it with a compare-and-swap on the revision it read (or the one given
// with --expect-revision), so two operators cannot overwrite each other.
import { readFile } from 'node:fs/promises'
import type { Etcd3 } from 'etcd3'
import { parseArgs, type ParsedArgs } from './args.ts'
import { CODES } from '../errors.ts'
import { decodeConfig } from '../config/load.ts'
import { formatErrors } from '../config/format.ts'
import type { FleetConfig } from '../config/types.ts'
import { readLocal } from '../fleet/boot.ts'
import { composeConfig, parseShared } from '../fleet/compose.ts'
import { decodeHealthDoc } from '../fleet/health-doc.ts'
import type { NodeRecord } from '../fleet/agent.ts'
import { fleetClient, fleetKeys, storeError, writeOutcome } from '../fleet/store.ts'

type Store = Pick<FleetConfig, 'endpoints' | 'tls' | 'auth' | 'prefix'>
const STORE_FLAGS = { 'node-config': 'value', endpoints: 'value', prefix: 'value' } as const
const err = (line: string): void => void process.stderr.write(`l4lb fleet: ${line}\n`)
const out = (line: string): void => void process.stdout.write(`${line}\n`)

/** Where the store is: the `fleet:` of --node-config FILE, or --endpoints A,B [--prefix P]. A string is a usage error. */
async function storeOf(args: ParsedArgs): Promise<{ store: Store; local: Awaited<ReturnType<typeof readLocal>> | null } | string> {
  const nodeConfig = args.flags.get('node-config')
  const endpoints = args.flags.get('endpoints')
  if (typeof nodeConfig === 'string') {
    const local = await readLocal(nodeConfig)
    if (!local.ok && local.noFleet === true) return `${nodeConfig}: has no fleet: section, so it does not say where the store is; give --endpoints URL[,URL] [--prefix P] instead`
    if (!local.ok) return `${nodeConfig}: ${formatErrors(local.result.ok ? [] : local.result.errors)}`
    return { store: local.config.fleet, local }
  }
  if (typeof endpoints !== 'string') return 'give the store with --node-config FILE (a node\'s file with fleet:) or --endpoints URL[,URL]'
  const prefix = args.flags.get('prefix')
  return { store: { endpoints: endpoints.split(','), prefix: typeof prefix === 'string' ? prefix : '/l4lb', tls: null, auth: null }, local: null }
}

/** `l4lb fleet push|status ...`; resolves to the exit code. */
export async function fleetCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv
  if (sub === 'push') return push(rest)
  if (sub === 'status') return status(rest)
  err(sub === undefined ? 'missing subcommand: push or status' : `unknown subcommand "${sub}" (push or status)`)
  return 2
}

async function push(argv: string[]): Promise<number> {
  const parsed = parseArgs(argv, { config: 'value', 'expect-revision': 'value', ...STORE_FLAGS }, { '-c': 'config' })
  if (!parsed.ok) return (err(parsed.error), 2)
  const file = parsed.args.flags.get('config')
  if (typeof file !== 'string') return (err('missing -c FILE (the shared part: pools and timeouts)'), 2)
  const expectRaw = parsed.args.flags.get('expect-revision')
  const expect = typeof expectRaw === 'string' ? Number(expectRaw) : null
  if (expect !== null && !(Number.isInteger(expect) && expect >= 0)) return (err(`--expect-revision: "${String(expectRaw)}" is not a revision`), 2)
  const where = await storeOf(parsed.args)
  if (typeof where === 'string') return (err(where), 2)
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => new Error(`${file}: cannot read (${e.code ?? e.message})`))
  if (text instanceof Error) return (err(text.message), 1)
  const nodeConfig = parsed.args.flags.get('node-config')
  const problems = validate(text, file, where.local, typeof nodeConfig === 'string' ? nodeConfig : undefined)
  if (problems !== null) {
    process.stderr.write(`${problems}\n${file}: invalid, not pushed\n`)
    return 1
  }
  const key = fleetKeys(where.store.prefix).config
  return withStore(where.store, { retry: false }, async (client) => {
    const current = await client.get(key).exec()
    const read = Number(current.kvs[0]?.mod_revision ?? 0)
    const base = expect ?? read
    // mod revision 0 means "absent": the compare holds only while nobody created the key.
    // One attempt (the client does not retry): its error is this write's outcome. On a failed
    // compare the same transaction reads the key, so the conflict names its real revision.
    const r = await client.if(key, 'Mod', '==', base).then(client.put(key).value(text)).else(client.get(key)).commit().catch((e: unknown) => e as Error)
    if (r instanceof Error) {
      if (writeOutcome(r) === 'not-written') throw r
      // The compare-and-swap makes pushing again safe: if this write lands late, a push on revision `base` is a conflict (exit 3).
      err(`${key}: outcome unknown (${storeError(r)}): the store did not confirm the write; etcd may still commit it once it has quorum. ` +
        `Check with \`l4lb fleet status\` (config revision; it was ${read === 0 ? 'absent' : `revision ${read}`}) or push again with --expect-revision ${base}`)
      return 4
    }
    if (!r.succeeded) {
      const kv = r.responses[0]?.response_range?.kvs[0]
      const now = Number(kv?.mod_revision ?? 0)
      if (kv !== undefined && kv.value.toString() === text) {
        out(`${key}: already stored at revision ${now} (the same text; an earlier push of it landed), nothing written`)
        return 0
      }
      const why = expect === null ? 'someone pushed since it was read' : 'not the revision --expect-revision names'
      err(`conflict: ${key} is ${now === 0 ? 'absent' : `at revision ${now}`}, not ${base === 0 ? 'absent' : base} (${why}); read it again and retry`)
      return 3
    }
    out(`${key}: stored at revision ${r.header.revision} (was ${read === 0 ? 'absent' : `revision ${read}`})`)
    return 0
  })
}

/** Every error of the shared part, or null: with a node's file, composed with it; else with a stand-in listener on the first pool. */
function validate(text: string, file: string, local: Awaited<ReturnType<typeof readLocal>> | null, nodeFile: string | undefined): string | null {
  const source = { key: file, revision: 0, from: file }
  if (local !== null && local.ok) {
    const r = composeConfig(local.raw, local.config.fleet, text, source, {}, nodeFile)
    return r.ok ? null : formatErrors(r.errors)
  }
  const part = parseShared(text, source)
  if (!part.ok && part.value === undefined) return formatErrors(part.errors)
  const value = part.value ?? {}
  const pools = value.pools
  const first = Array.isArray(pools) ? (pools[0] as { name?: unknown } | undefined)?.name : undefined
  const r = decodeConfig({ ...value, listeners: [{ bind: '127.0.0.1:0', pool: typeof first === 'string' ? first : 'x' }], admin: { enabled: false } })
  // Keys that are not shared and every error of the shared ones, at once.
  const errors = [...(part.ok ? [] : part.errors), ...(r.ok ? [] : r.errors.map((e) => ({ path: `${file}: ${e.path}`, message: e.message })))]
  return errors.length === 0 ? null : formatErrors(errors)
}

async function status(argv: string[]): Promise<number> {
  const parsed = parseArgs(argv, { json: 'bool', ...STORE_FLAGS })
  if (!parsed.ok) return (err(parsed.error), 2)
  const where = await storeOf(parsed.args)
  if (typeof where === 'string') return (err(where), 2)
  return withStore(where.store, {}, async (client) => {
    const doc = await read(client, where.store.prefix)
    if (parsed.args.flags.has('json')) out(JSON.stringify(doc, null, 2))
    else for (const line of render(doc)) out(line)
    return 0
  })
}

/**
 * Run `fn` with a client of `store` (fleetClient `opts`), closed after: its exit code, or 1 with
 * LB_ERR_FLEET_STORE and the endpoints when the store cannot be reached.
 */
async function withStore(store: Parameters<typeof fleetClient>[0], opts: Parameters<typeof fleetClient>[1], fn: (client: ReturnType<typeof fleetClient>) => Promise<number>): Promise<number> {
  const client = fleetClient(store, opts)
  try {
    return await fn(client)
  } catch (e) {
    err(`store unreachable (${CODES.LB_ERR_FLEET_STORE}, ${store.endpoints.join(', ')}): ${storeError(e)}`)
    return 1
  } finally {
    client.close()
  }
}

/** `l4lb fleet status --json`. */
export interface FleetStatusDoc {
  readonly prefix: string
  readonly configRevision: number // 0: no config stored
  readonly leader: { readonly node: string; readonly term: number; readonly seq: number; readonly at: number } | null
  readonly nodes: readonly (NodeRecord & { readonly lag: number })[] // lag: store revision minus the one applied
}

async function read(client: Etcd3, prefix: string): Promise<FleetStatusDoc> {
  const keys = fleetKeys(prefix)
  const [config, health, nodes] = await Promise.all([client.get(keys.config).exec(), client.get(keys.health).string(), client.getAll().prefix(keys.nodes).strings()])
  const configRevision = Number(config.kvs[0]?.mod_revision ?? 0)
  const h = health === null ? null : decodeHealthDoc(health)
  const records = Object.values(nodes).flatMap((v) => {
    try {
      const n = JSON.parse(v) as NodeRecord
      return [{ ...n, lag: Math.max(0, configRevision - n.appliedRevision) }]
    } catch {
      return []
    }
  }).sort((a, b) => a.node.localeCompare(b.node))
  return { prefix, configRevision, leader: h === null || h instanceof Error ? null : { node: h.leader, term: h.term, seq: h.seq, at: h.at }, nodes: records }
}

function render(d: FleetStatusDoc): string[] {
  const lines = [
    `fleet ${d.prefix}: config revision ${d.configRevision === 0 ? 'none stored' : d.configRevision}`,
    d.leader === null ? 'health leader: none has published' : `health leader: ${d.leader.node} (term ${d.leader.term}, result ${d.leader.seq} written ${Date.now() - d.leader.at} ms ago by its clock)`,
    '',
  ]
  const rows = [['NODE', 'ROLE', 'APPLIED', 'LAG', 'HEALTH AGE', 'FALLBACKS', 'NOTE'], ...d.nodes.map((n) => [
    n.node, n.role, `${n.appliedRevision}${n.configSource === 'last-known-good' ? ' (last-known-good)' : ''}`, String(n.lag),
    n.healthAgeMs === null ? '-' : `${n.healthAgeMs} ms`, String(n.fallbacksTotal),
    [n.fallback, n.rejectedRevision === null ? null : `refused revision ${n.rejectedRevision}`].filter(Boolean).join('; '),
  ])]
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  return [...lines, ...rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()), ...(d.nodes.length === 0 ? ['(no node has reported)'] : [])]
}
