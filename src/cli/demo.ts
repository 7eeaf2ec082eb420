// `l4lb demo` (`npm start`): three local backends that name themselves and a
// clustered balancer in front of them on 127.0.0.1, with the admin API and
// status page on, and instructions for seeing balancing and stickiness.
import { parseConfig } from '../config/load.ts'
import { formatErrors } from '../config/format.ts'
import { startDemoBackend } from '../demo/backend.ts'
import { freePort } from '../cluster/ports.ts'
import { applyLogFormat, startPrimary } from './run.ts'
import { parseArgs } from './args.ts'

/**
 * Logs: one line per closed connection (log.connections) at info, as human
 * lines on a terminal and JSON otherwise (`--log-format` or L4LB_LOG_FORMAT
 * override; see src/log-format.ts).
 */
export async function demoCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, { 'log-format': 'value' })
  const problem = !args.ok ? args.error : args.args.positionals.length > 0 ? `unexpected argument ${args.args.positionals[0]}` : applyLogFormat(args.args.flags, 'auto')
  if (problem !== null) {
    process.stderr.write(`l4lb demo: ${problem}\n`)
    return 2
  }
  const backends = await Promise.all(['proxy-a', 'proxy-b', 'proxy-c'].map((n) => startDemoBackend(n)))
  const port = await freePort('127.0.0.1', 8080)
  const adminPort = await freePort('127.0.0.1', 9090)
  const yaml = `
workers: 2
listeners:
  - { name: demo, bind: 127.0.0.1:${port} }
pools:
  - name: proxies
    policy: maglev
    hash-key: src-ip
    retries: 2
    backends:
${backends.map((b) => `      - { id: ${b.name}, host: 127.0.0.1, port: ${b.port} }`).join('\n')}
    health: { type: tcp, interval: 1s, timeout: 500ms, fall: 2, rise: 2 }
admin: { enabled: true, bind: 127.0.0.1:${adminPort} }
log: { level: info, connections: true }
`
  const parsed = parseConfig(yaml)
  if (!parsed.ok) {
    process.stderr.write(`demo config invalid (a bug):\n${formatErrors(parsed.errors)}\n`)
    return 1
  }
  await startPrimary(parsed.config, null)
  const stopBackends = async () => {
    await Promise.all(backends.map((b) => b.close()))
  }
  process.once('exit', () => void stopBackends())
  process.stdout.write(`
l4lb demo: 2 workers balancing 127.0.0.1:${port} over ${backends.map((b) => `${b.name} (:${b.port})`).join(', ')}
policy maglev on the client address: every connection from one address sticks to one backend.

  curl http://127.0.0.1:${port}/             # "served by proxy-?" — the same one every time
  for i in 1 2 3 4 5 6; do curl -s --interface 127.0.0.${'$'}i http://127.0.0.1:${port}/; done   # six client addresses: spread over the three, each sticky
  nc 127.0.0.1 ${port}                       # type a line; the backend answers with its name
  status page:  http://127.0.0.1:${adminPort}/
  status JSON:  curl http://127.0.0.1:${adminPort}/status
  drain one:    curl -X POST http://127.0.0.1:${adminPort}/backends/proxy-a/drain

Each connection logs one line when it closes: client → backend, bytes up/down, duration, tries, why it ended.
Ctrl-C drains and stops.
`)
  return -1
}
