// Child process for the EMFILE test: an in-process Engine in front of one
// backend (port in argv[2]), logging JSON to stdout. Prints {"port": N} once
// listening. Run under a low `ulimit -n`. Exits when stdin closes (the test
// ended or died) or after 120 s at most.
import pino from 'pino'
import { Engine } from '../../src/proxy/engine.ts'
import { hardeningConfig } from './helpers.ts'

const backendPort = Number(process.argv[2])
const log = pino({ level: 'info' })
const lb = new Engine(hardeningConfig([{ name: 'a', port: backendPort }], { pool: { retries: 0 }, top: { timeouts: { idle: '30s', 'half-closed': '5s' } } }), { log })
await lb.start()
process.stdout.write(`${JSON.stringify({ port: lb.listener('test')!.address()!.port })}\n`)
const stop = (): void => {
  void lb.shutdown(100).then(() => process.exit(0))
}
process.stdin.on('end', stop)
process.stdin.resume()
setTimeout(stop, 120_000).unref()
