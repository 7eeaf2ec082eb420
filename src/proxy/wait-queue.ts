// A bounded FIFO of clients waiting for a backend slot (HAProxy's pendconn
// queue of a backend, `maxconn` + `timeout queue`). Removing from the middle
// (a client that times out or leaves) is O(1): the slot is blanked and
// skipped; the array is compacted when the blanks pass half of it. Pure data:
// who waits is decided by connect.ts.

export class WaitQueue<T> {
  #items: (T | null)[] = []
  #head = 0
  #index = new Map<T, number>() // item -> absolute position
  #base = 0 // absolute position of #items[0]
  #since = new Map<T, number>() // item -> when it was pushed (caller's clock)

  /** Items waiting now. */
  get length(): number {
    return this.#index.size
  }

  has(item: T): boolean {
    return this.#index.has(item)
  }

  /** When `item` was pushed (the `now` given to push), or undefined when it is not queued. */
  since(item: T): number | undefined {
    return this.#since.get(item)
  }

  /** Append `item` at time `now`; false (nothing changed) when `max` items already wait. */
  push(item: T, max: number, now: number): boolean {
    if (this.#index.size >= max || this.#index.has(item)) return false
    this.#since.set(item, now)
    this.#index.set(item, this.#base + this.#items.length)
    this.#items.push(item)
    return true
  }

  /** The oldest item, or undefined when empty. */
  peek(): T | undefined {
    this.#skip()
    return this.#head < this.#items.length ? (this.#items[this.#head] as T) : undefined
  }

  /** Remove and return the oldest item, or undefined when empty. */
  shift(): T | undefined {
    const item = this.peek()
    if (item !== undefined) this.remove(item)
    return item
  }

  /** Take `item` out wherever it is; false when it was not queued. */
  remove(item: T): boolean {
    const at = this.#index.get(item)
    if (at === undefined) return false
    this.#index.delete(item)
    this.#since.delete(item)
    this.#items[at - this.#base] = null
    this.#skip()
    if (this.#head > 32 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#base += this.#head
      this.#head = 0
    }
    return true
  }

  #skip(): void {
    while (this.#head < this.#items.length && this.#items[this.#head] === null) this.#head++
    if (this.#head === this.#items.length && this.#head > 0) {
      this.#base += this.#items.length
      this.#items = []
      this.#head = 0
    }
  }
}
