// Where the hashing pickers get their lookup tables. By default a factory
// builds its table on the spot (`syncTables`). A table that is large (a
// Maglev table of 10^6 slots, a ring of 10^5 points) takes from a fraction of
// a second to seconds, too long to block a worker's event loop (every
// connection and IPC message waits): the worker then asks for the same
// tables off its loop (table-builder.ts) and hands them in with
// `prebuiltTables`, which the factories use exactly like the built ones.
import { buildMaglevTable } from './maglev-table.ts'
import { buildRingTable, RING_VNODES, type RingTable } from './ring-table.ts'

/** One table a picker needs (`kind` is a policy row's `table`): its inputs, in the form the builders take. */
export type TableSpec =
  | { readonly kind: 'maglev'; readonly ids: readonly string[]; readonly weights: readonly number[]; readonly m: number }
  | { readonly kind: 'ring'; readonly ids: readonly string[]; readonly weights: readonly number[] }

export type BuiltTable = Int32Array | RingTable

/** A source of tables: returns the table for exactly these inputs. */
export interface TableSource {
  maglev(ids: readonly string[], weights: readonly number[], m: number): Int32Array
  ring(ids: readonly string[], weights: readonly number[]): RingTable
}

export const syncTables: TableSource = {
  maglev: buildMaglevTable,
  ring: (ids, weights) => buildRingTable(ids, weights),
}

// Work above which a table is built off the event loop: Maglev slots, and ring
// points (4 × vnodes per backend). Both take ~10-30 ms of one core at the
// threshold on the project's machines; small pools (and every test with a few
// backends) keep the synchronous path.
export const LARGE_MAGLEV_SLOTS = 200_000
export const LARGE_RING_POINTS = 40_000

/** True when building `spec` would hold the event loop too long (see thresholds above). */
export function isLarge(spec: TableSpec): boolean {
  return spec.kind === 'maglev' ? spec.m > LARGE_MAGLEV_SLOTS : spec.ids.length * 4 * RING_VNODES > LARGE_RING_POINTS
}

function signature(kind: string, ids: readonly string[], weights: readonly number[], m = 0): string {
  return `${kind}|${m}|${ids.join('\n')}|${weights.join(',')}`
}

/**
 * A TableSource serving tables built elsewhere for `specs` (results in the
 * same order). A request with other inputs than any spec (it should not
 * happen) is built on the spot, so a picker is never wrong, only slower.
 */
export function prebuiltTables(specs: readonly TableSpec[], built: readonly BuiltTable[]): TableSource {
  const byInput = new Map<string, BuiltTable>()
  specs.forEach((s, i) => byInput.set(signature(s.kind, s.ids, s.weights, s.kind === 'maglev' ? s.m : 0), built[i]))
  return {
    maglev: (ids, weights, m) => {
      const t = byInput.get(signature('maglev', ids, weights, m))
      return t instanceof Int32Array && t.length === m ? t : buildMaglevTable(ids, weights, m)
    },
    ring: (ids, weights) => {
      const t = byInput.get(signature('ring', ids, weights))
      return t !== undefined && !(t instanceof Int32Array) ? t : buildRingTable(ids, weights)
    },
  }
}

/** Build one spec here (the table thread's work, and the fallback when it is gone). */
export function buildTable(spec: TableSpec): BuiltTable {
  return spec.kind === 'maglev' ? buildMaglevTable(spec.ids, spec.weights, spec.m) : buildRingTable(spec.ids, spec.weights)
}
