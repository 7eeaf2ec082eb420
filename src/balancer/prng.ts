// A small allocation-free generator for the random pickers (random, p2c).
//
// Why not call options.random() per pick: a call that returns a double the
// optimiser does not inline returns it boxed (a HeapNumber), i.e. allocates;
// measured with Math.random, ~17 bytes per weighted-random pick and ~35 per
// p2c pick. So each picker seeds this xoshiro128** generator from
// options.random at build time (tests inject a seeded one and stay
// reproducible) and draws 30-bit integers, which are always small integers
// (Smis) and never boxed. State lives in a Uint32Array: updates do not
// allocate either.

const TWO_30 = 1073741824

export class Prng30 {
  private readonly s = new Uint32Array(4)

  /** Seed from four draws of `random` ([0,1)); an all-zero state is avoided. */
  constructor(random: () => number) {
    for (let i = 0; i < 4; i++) this.s[i] = Math.floor(random() * 4294967296)
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 0x9e3779b9
  }

  /** Next integer, uniform in [0, 2^30). */
  next30(): number {
    const s = this.s
    const m = Math.imul(s[1], 5)
    const r = Math.imul((m << 7) | (m >>> 25), 9)
    const t = s[1] << 9
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = (s[3] << 11) | (s[3] >>> 21)
    return r >>> 2
  }

  /** Uniform integer in [0, n) for 1 <= n <= 2^30. */
  below(n: number): number {
    return Math.floor((this.next30() / TWO_30) * n)
  }
}

/** Scale a 30-bit draw to [0, 1): do this in the caller, where the double stays unboxed. */
export const PRNG_SCALE = 1 / TWO_30
