// The process `npm run bench:profile` (bench/proxy/profile.ts) profiles: one
// in-process Engine, exactly what a cluster worker runs minus the IPC, with
// the bench's l4lb config (round-robin over the given backends, logging at
// warn through the real pino destination). Prints `READY <port>` on stdout;
// exits cleanly on SIGINT/SIGTERM so `--cpu-prof` writes its profile.
//   node [--cpu-prof] bench/proxy/profile-target.ts PORT[,PORT...]
import { parseConfig } from '../../src/config/load.ts'
import { child, flushLog, setLogLevel } from '../../src/log.ts'
import { Engine } from '../../src/proxy/engine.ts'

const ports = (process.argv[2] ?? '').split(',').filter(Boolean).map(Number)
if (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p <= 0)) {
  process.stderr.write('usage: profile-target.ts BACKEND_PORT[,PORT...]\n')
  process.exit(2)
}

const yaml = `workers: 1
listeners:
  - { name: bench, bind: 127.0.0.1:0, pool: be }
pools:
  - name: be
    policy: round-robin
    retries: 1
    backends:
${ports.map((p) => `      - { host: 127.0.0.1, port: ${p} }`).join('\n')}
    health: { type: none }
timeouts: { connect: 5s, idle: 600s, half-closed: 30s }
admin: { enabled: false }
log: { level: warn, connections: false }
`
const parsed = parseConfig(yaml)
if (!parsed.ok) throw new Error(`bad profile config: ${JSON.stringify(parsed.errors)}`)
setLogLevel(parsed.config.log.level)
const lb = new Engine(parsed.config, { log: child('worker'), workers: 1 })
await lb.start()
const port = [...lb.listeners.values()][0].address()!.port
process.stdout.write(`READY ${port}\n`)

const stop = (): void => {
  void lb.shutdown(200).then(() => {
    flushLog()
    process.exit(0)
  })
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
