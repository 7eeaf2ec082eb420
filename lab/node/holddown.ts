// Health hysteresis for the lab's gates (the anycast announcement and keepalived's track_file):
// a pure dampener, fed one probe result at a time, that decides whether the node is "up".
// A node goes down only after `fall` consecutive failed probes spanning at least `downAfterMs`
// (a pause that merely delays answers must not move a VIP or a route), and comes back only
// after `rise` consecutive good probes spanning at least `upAfterMs` (a flapping node is not
// re-admitted between two failures). With downAfterMs = upAfterMs = 0 it is the plain
// fall/rise counter the lab had before (issue 10, kind 3). It starts down: nothing is proven yet.
// Shape after glb-director's HealthResultDampener (rise/fall counts) plus a hold-down time.

/** Dampener settings: counts of consecutive probes and the time spans (ms) they must cover. */
export interface HoldDownOptions { fall: number; rise: number; downAfterMs: number; upAfterMs: number }

export class HoldDown {
  private up = false
  private bad = 0
  private ok = 0
  private badSince = 0  // time of the first failed probe of the current run of failures, ms
  private okSince = 0   // time of the first good probe of the current run of good ones, ms
  private readonly o: HoldDownOptions
  constructor(o: HoldDownOptions) { this.o = o }

  /** The dampened state: true while the node counts as healthy. */
  get healthy(): boolean { return this.up }

  /**
   * Whether a node that is NOT serving now (withdrawn by an operator, say) may be admitted at time t:
   * up, and the current run of good probes has rise probes spanning upAfterMs. A node restarted
   * during a hold is still "up" (its failure was shorter than the hold-down) but not admissible
   * until it has been stable that long.
   */
  admissible(t: number): boolean {
    return this.up && this.ok >= this.o.rise && t - this.okSince >= this.o.upAfterMs
  }

  /**
   * Feeds one probe result, observed at time t (epoch or monotonic ms, never decreasing).
   * Returns the dampened state after it; a result that only starts or extends a run changes nothing.
   */
  observe(good: boolean, t: number): boolean {
    if (good) {
      if (this.ok === 0) this.okSince = t
      this.ok++
      this.bad = 0
      if (!this.up && this.ok >= this.o.rise && t - this.okSince >= this.o.upAfterMs) this.up = true
    } else {
      if (this.bad === 0) this.badSince = t
      this.bad++
      this.ok = 0
      if (this.up && this.bad >= this.o.fall && t - this.badSince >= this.o.downAfterMs) this.up = false
    }
    return this.up
  }
}
