// The `l4lb` command line: thin dispatch to one module per subcommand.
import { checkCommand } from './check.ts'
import { demoCommand } from './demo.ts'
import { drainCommand } from './drain.ts'
import { reloadCommand } from './reload.ts'
import { runCommand } from './run.ts'
import { statusCommand } from './status.ts'
import { versionCommand } from './version.ts'

const USAGE = `usage: l4lb <command> [flags]

  run -c FILE        run the balancer (primary + workers) with FILE
  check -c FILE      validate FILE; list every error with its key path
  demo               three local backends and a balancer in front of them
  status             show listeners and backends (admin API)
  reload             re-read the config file of a running l4lb (or send it SIGHUP)
  drain ID           stop new flows to backend ID; established ones go on
  version            print the l4lb and Node.js versions (also --version)

admin flags for status/reload/drain: --admin HOST:PORT (default 127.0.0.1:9090), --token T
`

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  run: runCommand,
  check: checkCommand,
  demo: demoCommand,
  status: statusCommand,
  reload: reloadCommand,
  drain: drainCommand,
  version: versionCommand,
  '--version': versionCommand,
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(USAGE)
    process.exitCode = name === undefined ? 2 : 0
    return
  }
  const cmd = commands[name]
  if (!cmd) {
    process.stderr.write(`l4lb: unknown command "${name}"\n${USAGE}`)
    process.exitCode = 2
    return
  }
  const code = await cmd(rest)
  if (code >= 0) process.exitCode = code // < 0: a server that keeps running
}

await main(process.argv.slice(2))
