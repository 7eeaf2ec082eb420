// Descriptor exhaustion is invisible to a net.Server: on EMFILE/ENFILE in
// accept, libuv frees a descriptor it keeps in reserve, accepts and closes the
// waiting connections (their clients see a close) and reports nothing to Node
// unless that fails too. So listeners ask, once a second from their sweep,
// whether one more descriptor can be opened.
import { closeSync, openSync } from 'node:fs'

/** How often a listener probes (ms). */
export const FD_PROBE_MS = 1000

/** Returns the EMFILE/ENFILE error if no descriptor can be opened now; null otherwise (never throws). */
export function probeDescriptors(): NodeJS.ErrnoException | null {
  try {
    closeSync(openSync('/dev/null', 'r'))
    return null
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'EMFILE' && code !== 'ENFILE') return null
    return Object.assign(new Error(`out of file descriptors (${code}); connections are accepted and closed at once`), { code })
  }
}
