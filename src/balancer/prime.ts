// Primes for Maglev table sizes: the config checks that an explicit
// `maglev-table-size` is prime and suggests the next one; the balancer sizes
// default tables with the next prime. One implementation for both.

/** True when `n` is a prime integer; false for non-integers and n < 2. Trial division: callers bound n (table sizes stay <= 16,777,216). */
export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false
  if (n % 2 === 0) return n === 2
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false
  return true
}

/** Smallest prime >= n (at least 2; a fraction is rounded up first). n is bounded by the caller. */
export function nextPrime(n: number): number {
  let p = Math.max(2, Math.ceil(n))
  while (!isPrime(p)) p++
  return p
}
