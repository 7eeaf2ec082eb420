// The `l4lb` command line: thin dispatch from the table in commands.ts.
// `l4lb --help`, `l4lb help [CMD]` and `l4lb CMD --help` print help and exit 0;
// no command or an unknown one exits 2 with the command list on stderr.
import { commandHelp, findCommand, mainHelp, wantsHelp } from './commands.ts'

/** Commands that keep running and log to stdout. */
const SERVERS: ReadonlySet<string> = new Set(['run', 'demo'])

/** stdout's reader went away (EPIPE): stop here with the exit code so far; anything else is a real error. */
function stdoutClosed(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EPIPE') throw err
  process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0)
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv
  if (name === undefined) {
    process.stderr.write(mainHelp())
    process.exitCode = 2
    return
  }
  if (name === 'help' || name === '--help' || name === '-h') {
    const topic = rest[0] === undefined ? undefined : findCommand(rest[0])
    if (rest[0] !== undefined && topic === undefined) {
      process.stderr.write(`l4lb: unknown command "${rest[0]}"\n${mainHelp()}`)
      process.exitCode = 2
      return
    }
    process.stdout.write(topic === undefined ? mainHelp() : commandHelp(topic))
    return
  }
  const cmd = findCommand(name)
  if (cmd === undefined) {
    process.stderr.write(`l4lb: unknown command "${name}"\n${mainHelp()}`)
    process.exitCode = 2
    return
  }
  if (wantsHelp(rest)) {
    process.stdout.write(commandHelp(cmd))
    return
  }
  // A reader that stops early (`l4lb fleet status | head -1`) closes the pipe: the report
  // ends there, as with any Unix tool, instead of an EPIPE stack trace. Not for the
  // servers (run, demo), whose stdout is their log and whose log writer ignores EPIPE.
  if (!SERVERS.has(cmd.name)) process.stdout.on('error', stdoutClosed)
  const code = await cmd.run(rest)
  if (code >= 0) process.exitCode = code // < 0: a server that keeps running
}

await main(process.argv.slice(2))
