// Immutability for values shared by reference: a loaded config, a health
// snapshot handed to every pool. Freezing them makes a stray write throw (in
// strict mode) where it happens instead of changing what others read.

/**
 * Freezes `value` and every object and array reachable from it; returns
 * `value` itself. Stops at objects already frozen (they are taken to be
 * frozen all the way down). Primitives are returned as they are.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}
