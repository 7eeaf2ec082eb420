// A sliding window of answer counts (successes and failures) in fixed time
// buckets, as Envoy's success-rate outlier detection counts per interval and
// HAProxy's `observe layer7` counts per server: `windowMs` is cut into
// `buckets` buckets of `windowMs / buckets` ms; counts older than the window
// fall off a bucket at a time, so the window covers between
// (buckets - 1) / buckets and all of `windowMs`. Pure: time (ms, any epoch,
// e.g. Date.now or a coarse clock) is passed in, there is no timer. A clock
// that goes back counts into the newest bucket seen. Memory: 3 × buckets
// doubles; add and read are O(buckets) at most, never allocate.

/** Buckets per window unless told: 10 (a 30 s window slides 3 s at a time). */
export const WINDOW_BUCKETS = 10

export class SuccessWindow {
  readonly windowMs: number
  readonly bucketMs: number
  readonly #ok: Float64Array
  readonly #failed: Float64Array
  readonly #bucketOf: Float64Array // the bucket number (floor(t / bucketMs)) each slot holds; -1 = empty
  #latest = -1 // newest bucket number seen

  /** `windowMs` > 0 (ms), `buckets` an integer >= 1; throws a RangeError otherwise (a programming error: config has validated it). */
  constructor(windowMs: number, buckets = WINDOW_BUCKETS) {
    if (!(windowMs > 0) || !Number.isInteger(buckets) || buckets < 1) throw new RangeError(`bad window ${windowMs}ms / ${buckets} buckets`)
    this.windowMs = windowMs
    this.bucketMs = windowMs / buckets
    this.#ok = new Float64Array(buckets)
    this.#failed = new Float64Array(buckets)
    this.#bucketOf = new Float64Array(buckets).fill(-1)
  }

  /** Count `ok` successes and `failed` failures (>= 0) at time `now` (ms). */
  add(now: number, ok: number, failed: number): void {
    const n = this.#bucket(now)
    const i = n % this.#ok.length
    if (this.#bucketOf[i] !== n) {
      this.#bucketOf[i] = n
      this.#ok[i] = 0
      this.#failed[i] = 0
    }
    this.#ok[i] += ok
    this.#failed[i] += failed
  }

  /** Successes counted in the window that ends at `now` (ms). */
  ok(now: number): number {
    return this.#sum(this.#ok, now)
  }

  /** Failures counted in the window that ends at `now` (ms). */
  failed(now: number): number {
    return this.#sum(this.#failed, now)
  }

  /** Successes / answers in the window at `now`, 0..1; null when it holds no answer ("no data", never 1 or 0). */
  ratio(now: number): number | null {
    const ok = this.ok(now)
    const all = ok + this.failed(now)
    return all === 0 ? null : ok / all
  }

  /**
   * The balancer's estimate at `now`: (successes + 1) / (answers + 1), 0..1
   * (additive smoothing, one success assumed): 1 with no data, so a backend
   * no one has used yet is not held back; one failure alone halves it rather
   * than zeroing it for a whole window; a backend failing every answer gets
   * 1 / (failures + 1), still above 0, so it keeps a trickle of flows that
   * sees its recovery.
   */
  estimate(now: number): number {
    const ok = this.ok(now)
    return (ok + 1) / (ok + this.failed(now) + 1)
  }

  #bucket(now: number): number {
    const n = Math.floor(now / this.bucketMs)
    if (n > this.#latest) this.#latest = n
    return this.#latest
  }

  #sum(counts: Float64Array, now: number): number {
    const cur = this.#bucket(now)
    const oldest = cur - counts.length + 1
    let sum = 0
    for (let i = 0; i < counts.length; i++) {
      const b = this.#bucketOf[i]
      if (b >= oldest && b <= cur) sum += counts[i]
    }
    return sum
  }
}
