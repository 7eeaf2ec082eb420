// Listeners on port 0 (tests, demos): every worker opens its own socket with
// SO_REUSEPORT, so they must agree on one port. The primary picks a free one
// for each such listener before forking and writes it into the config.
import net from 'node:net'
import type { Config } from '../config/types.ts'
import { deepFreeze } from '../freeze.ts'

/** A port on `host` nobody listens on now: `preferred` when free, else one the kernel picks. */
export async function freePort(host: string, preferred = 0): Promise<number> {
  const tryPort = (port: number): Promise<number | null> =>
    new Promise((resolve) => {
      const s = net.createServer()
      s.once('error', () => resolve(null))
      s.listen({ host, port, exclusive: true }, () => {
        const got = (s.address() as net.AddressInfo).port
        s.close(() => resolve(got))
      })
    })
  const got = (preferred !== 0 ? await tryPort(preferred) : null) ?? (await tryPort(0))
  if (got === null) throw new Error(`no free port on ${host}`)
  return got
}

/** The same config with every listener port 0 replaced by a free port; unchanged if none. */
export async function resolveEphemeralPorts(config: Config, previous?: Config): Promise<Config> {
  if (!config.listeners.some((l) => l.bind.port === 0)) return config
  const listeners = []
  for (const l of config.listeners) {
    if (l.bind.port !== 0) {
      listeners.push(l)
      continue
    }
    // On reload keep the port a same-named port-0 listener already has.
    const kept = previous?.listeners.find((p) => p.name === l.name && p.bind.host === l.bind.host)
    const port = kept ? kept.bind.port : await freePort(l.bind.host)
    listeners.push({ ...l, bind: { host: l.bind.host, port } })
  }
  return deepFreeze({ ...config, listeners })
}
