// The native engine: a C addon (native/, built at install by
// scripts/build-native.sh) whose one thread per process moves the bytes of
// established sessions that JavaScript accepted, and (stage 2) connects the
// backends JavaScript picks, reporting each attempt back, and (stage 3)
// accepts on plain listeners, asking JavaScript for a batch's picks in one
// crossing (src/proxy/native-accept.ts). This file turns its completion
// batches back into session endings (engine-choice.ts loads it and chooses
// the engine; src/proxy/hand-off.ts hands sessions over). No policy crosses: TypeScript passes timeout values and
// kill orders, the addon reports endings and byte counts.
import type { Termination } from '../errors.ts'
import type { ConnectOutcome } from '../health/types.ts'
import { Interner } from '../net/intern.ts'

/** The addon's functions (native/addon.c). Ids are numbers >= 0; a negative adopt result is -errno. */
export interface NativeAddon {
  /** onDone's `addrs`: present when the batch has EV_ACCEPTED records (layout in native/pump.h). */
  start(onDone: (batch: Float64Array, addrs: Buffer | undefined) => void, maxConns: number): void
  /** ended: bit 0 the client's FIN, bit 1 the backend's, already forwarded by JavaScript; quietMs: since the last byte or FIN. */
  adopt(clientFd: number, serverFd: number, idleMs: number, halfClosedMs: number, quietMs: number, ended: number, toServer: Buffer | null, toClient: Buffer | null): number
  /** Stage 2: take the client, connect `host` (an IP literal) within connectMs, send toServer first. */
  connect(clientFd: number, host: string, port: number, connectMs: number, idleMs: number, halfClosedMs: number, toServer: Buffer | null): number
  /** Stage 2: another attempt for a connection whose last connect failed: 0, or -errno (no socket could be made). */
  retry(id: number, host: string, port: number, connectMs: number, toServer: Buffer | null): number
  kill(id: number): void
  retime(id: number, idleMs: number, halfClosedMs: number): void
  ref(on: boolean): void
  owned(): number
  held(): number
  /** Ask for a byte-count sample (EV_BYTES records in a later batch) of every session that moved bytes since its last. */
  sample(): void
  /** Stage 3: accept on a dup of listening socket `fd` under `tag`: the dup's descriptor, or -errno. */
  listen(fd: number, tag: number): number
  /** Stage 3: stop accepting on `tag` (its dup `fd`); close: the socket stops listening now. EV_UNLISTENED follows. */
  unlisten(tag: number, fd: number, close: boolean): number
  /** Stage 3: a batch's decisions, DECIDE_FIELDS numbers each (native/addon.c js_decide): per client its id, 0, or -errno. */
  decide(records: Float64Array, hosts: readonly string[], toServer: readonly (Buffer | null)[]): Float64Array
}

/** Numbers per decision in NativePump.decide's records: [fd, kind, port, connectMs, idleMs, halfClosedMs]. */
export const DECIDE_FIELDS = 6
/** Decision kinds (native/addon.c): connect the picked backend, park (queued, no backend yet), reset (refused). */
export const DECIDE_CONNECT = 0
export const DECIDE_PARK = 1
export const DECIDE_RESET = 2

/** Endings in the order of `enum pump_ending` (native/pump.h); null: a kill, whose reason JavaScript set. */
const ENDINGS: readonly (Termination | null)[] = [
  'client-closed', 'server-closed', 'client-reset', 'server-reset', 'idle-timeout', 'half-closed-timeout', null,
  'hard-stop', // END_NO_MEMORY: the pump could not hold unsent bytes and reset both sides
  'client-closed-early', // END_CLIENT_EARLY: the client left while its backend was being connected
]

/** Stage 2's connect outcomes, numbered after the endings (EV_* in native/pump.h): not endings, the session goes on. */
const CONNECT_OUTCOMES: readonly ConnectOutcome[] = ['error', 'timeout', 'connected']

/** EV_BYTES (native/pump.h): a byte-count sample of a session still pumping, after the connect outcomes. */
const EV_BYTES = ENDINGS.length + CONNECT_OUTCOMES.length
/** Stage 3's listener events (native/pump.h): a client accepted, a listener let go of, an accept error. */
const EV_ACCEPTED = EV_BYTES + 1
const EV_UNLISTENED = EV_BYTES + 2
const EV_ACCEPT_ERROR = EV_BYTES + 3
/** Bytes of one address as text in a batch's address buffer (PUMP_ADDR_LEN); two per accepted client. */
const ADDR_LEN = 48

/** A listener whose socket the pump accepts on (stage 3). */
export interface NativeListenerOwner {
  /** The pump no longer watches the socket (after unlisten, or `errno` > 0: it could not watch it). */
  nativeUnlistened(errno: number): void
  /** accept4 failed with `errno` (out of descriptors: the pump tries again every 50 ms). */
  nativeAcceptError(errno: number): void
}

/** A client the pump accepted: its descriptor is JavaScript's to decide on (NativePump.decide) or to serve itself. */
export interface AcceptedClient {
  readonly owner: NativeListenerOwner | undefined // undefined: its listener is gone (reset it)
  readonly fd: number
  readonly addr: string
  readonly port: number
  readonly localAddr: string
  readonly localPort: number
}

/** What a session handed to the pump hears when it ends. */
export interface NativeOwner {
  /**
   * `reason` null: ended by a kill (the owner set its reason first). Bytes: received from
   * each side by the pump since its last nativeBytes (all of them when there was none).
   */
  nativeEnded(reason: Termination | null, firstClose: 'client' | 'server' | null, bytesIn: number, bytesOut: number): void
  /** Stage 2: a connect attempt's outcome (`ms`: its connect time when connected). Failed: the pump waits for retry() or kill(). */
  nativeConnect(outcome: ConnectOutcome, ms: number): void
  /** A sample while the session lasts: bytes received from the client and from the backend since the last one (NativePump.sample). */
  nativeBytes(bytesIn: number, bytesOut: number): void
}

/** Counters of this process's native engine (l4lb_native_* metrics). */
export interface NativeCounters {
  adopted: number // sessions handed to the pump (connected by JavaScript, or by the pump: `connects`)
  connects: number // of those, sessions whose backend the pump connected (stage 2)
  fallbacks: number // sessions the pump could not take: they stayed on JavaScript
  batches: number // completion batches received
  samples: number // byte-count samples asked for (sample())
  accepted: number // stage 3: clients the pump accepted (one Node socket fewer each)
  decides: number // stage 3: crossings that answered accepted clients (one per batch, not per client)
}

/** The process's native pump: adopts sessions, routes their completions, counts. */
export class NativePump {
  readonly counters: NativeCounters = { adopted: 0, connects: 0, fallbacks: 0, batches: 0, samples: 0, accepted: 0, decides: 0 }
  /** Stage 2: the pump connects backends (pools of IP literals); L4LB_NATIVE_CONNECT=0 keeps stage 1 (JavaScript connects), to compare them. */
  connects = process.env.L4LB_NATIVE_CONNECT !== '0'
  /** Stage 3: the pump accepts on plain listeners; L4LB_NATIVE_ACCEPT=0 keeps stage 2 (JavaScript accepts), to compare them. */
  accepts = process.env.L4LB_NATIVE_ACCEPT !== '0'
  /** Stage 3: what serves a batch's accepted clients (native-accept.ts sets it with the first listener). */
  onAccepted: ((clients: AcceptedClient[]) => void) | null = null
  private readonly owners = new Map<number, NativeOwner>()
  private readonly listeners = new Map<number, NativeListenerOwner>()
  private nextTag = 1
  private readonly addon: NativeAddon

  constructor(addon: NativeAddon, maxConns: number) {
    this.addon = addon
    addon.start((batch, addrs) => this.onDone(batch, addrs), maxConns)
  }

  /** Sessions the pump owns now. */
  get owned(): number {
    return this.owners.size
  }

  /**
   * Take over a connection (the caller keeps its descriptors open until this
   * returns; the pump dup'ed them). Returns the id, or a negative -errno when
   * the pump cannot take it: the caller keeps it on JavaScript (counted).
   */
  adopt(owner: NativeOwner, clientFd: number, serverFd: number, idleMs: number, halfClosedMs: number, quietMs: number, ended: number, toServer: Buffer | null, toClient: Buffer | null): number {
    let id: number
    try {
      id = this.addon.adopt(clientFd, serverFd, idleMs, halfClosedMs, quietMs, ended, toServer, toClient)
    } catch {
      id = -1
    }
    return this.took(owner, id)
  }

  private took(owner: NativeOwner, id: number): number {
    if (id < 0) {
      this.counters.fallbacks++
      return id
    }
    this.counters.adopted++
    if (this.owners.size === 0 && this.listeners.size === 0) this.addon.ref(true)
    this.owners.set(id, owner)
    return id
  }

  /**
   * Stage 2: take the client (its descriptor stays the caller's) and connect
   * host:port (an IP literal) within `connectMs`; `toServer` goes first once
   * connected. The owner hears each attempt's outcome (nativeConnect), then
   * its ending. Returns the id, or -errno: the caller keeps the session on
   * JavaScript (counted).
   */
  connect(owner: NativeOwner, clientFd: number, host: string, port: number, connectMs: number, idleMs: number, halfClosedMs: number, toServer: Buffer | null): number {
    let id: number
    try {
      id = this.addon.connect(clientFd, host, port, connectMs, idleMs, halfClosedMs, toServer)
    } catch {
      id = -1
    }
    if (id >= 0) this.counters.connects++
    return this.took(owner, id)
  }

  /** Another connect attempt for `id` after its owner heard a failure: 0, or -errno (no socket: count it as a connect error). */
  retry(id: number, host: string, port: number, connectMs: number, toServer: Buffer | null): number {
    try {
      return this.addon.retry(id, host, port, connectMs, toServer)
    } catch {
      return -1
    }
  }

  /** Reset both sides of `id` now; its owner hears a null reason. A finished id is ignored. */
  kill(id: number): void {
    this.addon.kill(id)
  }

  /** New timer values for `id` (ms, 0 = off). */
  retime(id: number, idleMs: number, halfClosedMs: number): void {
    this.addon.retime(id, idleMs, halfClosedMs)
  }

  /** Bytes the pump holds unsent over all its sessions (each holds at most one read per direction). */
  held(): number {
    return this.addon.held()
  }

  /**
   * Ask the pump for the bytes its sessions moved since the last sample: each
   * owner hears nativeBytes in a later batch (one crossing, not one per
   * session; nothing when no session moved a byte). The worker calls it before
   * every stats report, so the byte counters of long-lived native sessions
   * move while they last, as the JavaScript engine's do.
   */
  sample(): void {
    if (this.owners.size === 0) return
    this.counters.samples++
    this.addon.sample()
  }

  /**
   * Stage 3: accept on listening socket `fd` (the pump dups it; the caller
   * closes its own handle). Returns the tag the pump reports its clients
   * under and the dup's descriptor, or null when the pump cannot take it
   * (the caller keeps accepting on JavaScript).
   */
  listen(owner: NativeListenerOwner, fd: number): { tag: number; fd: number } | null {
    const tag = this.nextTag++
    let dup: number
    try {
      dup = this.addon.listen(fd, tag)
    } catch {
      dup = -1
    }
    if (dup < 0) return null
    this.listeners.set(tag, owner)
    if (this.owners.size === 0 && this.listeners.size === 1) this.addon.ref(true)
    return { tag, fd: dup }
  }

  /**
   * Stage 3: stop accepting on `tag`. `close`: the socket stops listening
   * now (clients in its queue are reset, as when Node closes a server) and
   * the pump closes it; else `fd` is the caller's again once its owner hears
   * nativeUnlistened (clients in the queue wait there).
   */
  unlisten(tag: number, fd: number, close: boolean): void {
    if (this.addon.unlisten(tag, fd, close) < 0) this.listeners.get(tag)?.nativeUnlistened(0) // the loop is gone
  }

  /**
   * Stage 3: one crossing with the decisions for a batch of accepted clients
   * (DECIDE_FIELDS numbers each; hosts and toServer by index, for connects).
   * Per client: its id (connect, park), 0 (reset), or -errno: the pump did
   * not take it and its descriptor is still the caller's. null: the addon
   * refused the whole call (it took nothing, not even the resets).
   */
  decide(records: Float64Array, hosts: readonly string[], toServer: readonly (Buffer | null)[]): Float64Array | null {
    this.counters.decides++
    try {
      return this.addon.decide(records, hosts, toServer)
    } catch {
      return null
    }
  }

  /** Stage 3: `owner` owns pump connection `id` (from decide); `connecting`: the pump connects its backend. */
  own(owner: NativeOwner, id: number, connecting: boolean): void {
    if (connecting) this.counters.connects++
    this.took(owner, id)
  }

  /** Count a session that could not be handed over for a reason found in JavaScript. */
  fellBack(): void {
    this.counters.fallbacks++
  }

  private onDone(batch: Float64Array, addrs: Buffer | undefined): void {
    this.counters.batches++
    let accepted: AcceptedClient[] | null = null
    let a = 0 // offset in addrs of the next accepted client's addresses
    for (let i = 0; i + 4 < batch.length; i += 5) {
      const id = batch[i]!
      const code = batch[i + 1]!
      if (code >= EV_ACCEPTED) {
        if (code === EV_ACCEPTED) {
          // `| 0`: small integers, so the session stores them unboxed (a number read from a Float64Array would be a 16-byte box)
          const client = { owner: this.listeners.get(id), fd: batch[i + 2]! | 0, addr: text(addrs!, a), port: batch[i + 3]! | 0, localAddr: text(addrs!, a + ADDR_LEN), localPort: batch[i + 4]! | 0 }
          a += 2 * ADDR_LEN
          ;(accepted ??= []).push(client)
        } else this.listenerEvent(id, code, batch[i + 2]!)
        continue
      }
      const owner = this.owners.get(id)
      if (owner === undefined) continue
      if (code === EV_BYTES) {
        owner.nativeBytes(batch[i + 3]!, batch[i + 4]!)
        continue
      }
      if (code >= ENDINGS.length) {
        owner.nativeConnect(CONNECT_OUTCOMES[code - ENDINGS.length] ?? 'error', batch[i + 3]!)
        continue
      }
      this.owners.delete(id)
      const first = batch[i + 2]
      owner.nativeEnded(ENDINGS[code] ?? 'hard-stop', first === 0 ? 'client' : first === 1 ? 'server' : null, batch[i + 3]!, batch[i + 4]!)
    }
    if (accepted !== null) {
      this.counters.accepted += accepted.length
      this.onAccepted!(accepted)
    }
    if (this.owners.size === 0 && this.listeners.size === 0) this.addon.ref(false)
  }

  private listenerEvent(tag: number, code: number, errno: number): void {
    const owner = this.listeners.get(tag)
    if (owner === undefined) return
    if (code === EV_ACCEPT_ERROR) return owner.nativeAcceptError(errno)
    if (code !== EV_UNLISTENED) return // a code this build does not know
    this.listeners.delete(tag)
    owner.nativeUnlistened(errno)
  }
}

/** Address texts of this process's accepted clients and listeners, shared by their sessions. */
const addresses = new Interner()

/** The NUL-terminated address text at `off` in a batch's address buffer (interned). */
function text(addrs: Buffer, off: number): string {
  const end = addrs.indexOf(0, off)
  return addresses.intern(addrs.toString('latin1', off, end < 0 || end > off + ADDR_LEN ? off + ADDR_LEN : end))
}
