// Runs bench/setup.sh, which installs the missing tools from Debian packages by name
// (haproxy, nginx, libnginx-mod-stream, wrk, iperf3, sysstat). Bounded to 10 minutes.
import { spawnSync } from 'node:child_process'

const SCRIPT = new URL('../setup.sh', import.meta.url).pathname

/** Runs the setup script with inherited output; throws when it fails. */
export function ensureTools(): void {
  const res = spawnSync('bash', [SCRIPT], { stdio: 'inherit', timeout: 600_000 })
  if (res.error) throw new Error(`bench/setup.sh: ${res.error.message}`)
  if (res.status !== 0) throw new Error(`bench/setup.sh exited ${res.status ?? res.signal}`)
}
