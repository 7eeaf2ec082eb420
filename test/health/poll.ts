// Poll a condition with a deadline (never a bare sleep).

/** Resolves true when `cond` held, false at the deadline; the caller asserts. */
export async function until(cond: () => boolean, deadlineMs = 5000, stepMs = 10): Promise<boolean> {
  const end = Date.now() + deadlineMs
  for (let i = 0; i < Math.ceil(deadlineMs / stepMs) + 1; i++) {
    if (cond()) return true
    if (Date.now() >= end) break
    await new Promise((resolve) => setTimeout(resolve, stepMs))
  }
  return cond()
}

