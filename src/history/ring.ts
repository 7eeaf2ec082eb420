// A fixed-capacity ring of numbers (NaN = no value) and one of objects: the
// history's bounded memory. Pure, no timers.

/** `capacity` numbers; push overwrites the oldest once full. */
export class NumberRing {
  readonly capacity: number
  readonly #buf: Float64Array
  #next = 0
  #size = 0

  constructor(capacity: number) {
    this.capacity = capacity
    this.#buf = new Float64Array(capacity).fill(NaN)
  }

  get size(): number {
    return this.#size
  }

  push(v: number): void {
    this.#buf[this.#next] = v
    this.#next = (this.#next + 1) % this.capacity
    if (this.#size < this.capacity) this.#size++
  }

  /** Fill with `n` NaNs (a series that starts after others: keeps indexes aligned). */
  pad(n: number): void {
    for (let i = 0; i < n; i++) this.push(NaN)
  }

  /** Oldest first; NaN becomes null (JSON has no NaN). */
  toArray(): (number | null)[] {
    const out: (number | null)[] = []
    const start = (this.#next - this.#size + this.capacity) % this.capacity
    for (let i = 0; i < this.#size; i++) {
      const v = this.#buf[(start + i) % this.capacity]
      out.push(Number.isNaN(v) ? null : v)
    }
    return out
  }
}

/** `capacity` items; push drops the oldest once full. */
export class Ring<T> {
  readonly capacity: number
  readonly #buf: T[] = []
  #next = 0

  constructor(capacity: number) {
    this.capacity = capacity
  }

  push(v: T): void {
    if (this.#buf.length < this.capacity) this.#buf.push(v)
    else this.#buf[this.#next] = v
    this.#next = (this.#next + 1) % this.capacity
  }

  /** Oldest first. */
  toArray(): T[] {
    return this.#buf.length < this.capacity ? [...this.#buf] : [...this.#buf.slice(this.#next), ...this.#buf.slice(0, this.#next)]
  }
}
