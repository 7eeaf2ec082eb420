// The one interface every backend-choice policy implements. No logic here.
//
// A picker is built off the hot path (when the backend set, a weight or a
// state changes) from the backends that may take NEW flows, and is then asked
// per connection. `pick` must not allocate and must not throw.
import type { WeighBy } from './policies.ts'
import type { TableSource } from './tables.ts'

/** Live per-backend counters, mutated by the data path, read by pickers. */
export interface BackendLoad {
  active: number // connections currently open to this backend (this worker)
  latencyEwmaMs: number // EWMA of connect latency; 0 = unknown
  /**
   * Estimated share of CONNECT answers that succeed, 0 < x <= 1 (observe
   * http-connect; SuccessWindow.estimate): 1 with no data. Absent = 1. Read
   * only with `weighBy: 'success-latency'`.
   */
  successRate?: number
  /**
   * observe http-connect: EWMA (ms) from the client's first byte at the
   * backend to its 2xx status line, the proxy's own time to tunnel (its
   * connect onward); 0 or absent = not measured. Read only with `weighBy`.
   */
  answerEwmaMs?: number
}

/** What a picker knows of a backend. Hashing pickers key on `id`, never on position. */
export interface PickerBackend {
  readonly id: string
  readonly weight: number // effective weight (after slow start), > 0
  readonly maxconn: number // 0 = unlimited; a backend at maxconn is skipped
  readonly load: BackendLoad
}

export interface PickerOptions {
  readonly tableSize: number // maglev: prime M >= 100 x backends (default 65537)
  readonly balanceFactor: number // hashing pickers: 0 = off, else > 1 (bounded load)
  readonly p2cLatency: boolean // p2c: weigh choices by connect-latency EWMA
  readonly weighBy?: WeighBy // p2c, random: absent = 'none'
  readonly random: () => number // [0,1); injectable for tests (random, p2c seed their generator from it at build)
  /**
   * Pool-wide live counters (optional, added for bounded load). `active` is the
   * number of connections open to ALL backends of the pool (primaries and
   * backups, this worker); the data path increments/decrements it alongside
   * each backend's `load`. Only the hashing pickers read it, and only when
   * balanceFactor > 1. When absent they sum the backends' `active` per pick
   * instead (correct, O(n)); pass it to keep pick O(1).
   */
  readonly poolLoad?: BackendLoad
  /**
   * Where maglev and ring get their tables (optional): absent = built on the
   * spot. A worker passes tables it had built off its event loop (tables.ts).
   */
  readonly tables?: TableSource
}

export interface Picker<B extends PickerBackend = PickerBackend> {
  readonly name: string
  /**
   * Choose a backend for a flow.
   * `hash` is the uint32 flow hash (see hash.ts); `tried` lists backends
   * already tried for this flow (retries), which must be skipped.
   * Returns undefined when no backend can take the flow ("none available").
   */
  pick(hash: number, tried: readonly B[]): B | undefined
  /**
   * Hashing pickers (optional): each usable backend's share of the lookup
   * structure (table slots, arc of the ring), summing to 1: the load expected
   * with infinitely many keys, free of sampling noise. For benches and tests;
   * allocates.
   */
  shares?(): Map<B, number>
}

export type PickerFactory = <B extends PickerBackend>(
  backends: readonly B[],
  options: PickerOptions,
) => Picker<B>
