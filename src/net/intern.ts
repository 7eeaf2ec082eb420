// One copy of each address text that many connections share. A natively
// accepted client's address and its listener's local address arrive as bytes
// and are decoded per connection; a session keeps both for its whole life
// (log line, PROXY header, hash). Interned, the sessions of one client address
// (and all of one listener) hold one string instead of one each: 32 bytes per
// string per idle connection on a 64-bit Node without pointer compression.

/** Entries kept before the table starts again (bounds its memory to ~150 KiB). */
export const INTERN_LIMIT = 2048

/**
 * A bounded string intern table. `intern(s)` returns the copy already held
 * when one equal to `s` is, else keeps and returns `s`. When it holds
 * INTERN_LIMIT strings it forgets them all and starts again (strings already
 * handed out stay valid; they are only no longer shared with later ones), so a
 * flood of distinct addresses costs a bounded table, never a growing one.
 */
export class Interner {
  readonly #table = new Map<string, string>()

  intern(s: string): string {
    const held = this.#table.get(s)
    if (held !== undefined) return held
    if (this.#table.size >= INTERN_LIMIT) this.#table.clear()
    this.#table.set(s, s)
    return s
  }

  /** Strings held now (for tests). */
  get size(): number {
    return this.#table.size
  }
}
