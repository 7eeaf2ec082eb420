// `l4lb check -c FILE`: validate a config without starting anything.
// Exit codes: 0 valid (one summary line on stdout), 1 invalid (every error on
// stderr, one per line, then a count), 2 usage error (the flag is named).
import { loadConfigFile } from '../config/load.ts'
import { CODES } from '../errors.ts'
import { formatErrors } from '../config/format.ts'
import type { Config } from '../config/types.ts'
import { engineChoice } from '../proxy/engine.ts'
import { engineProblem, resolveEngine } from '../proxy/engine-choice.ts'

export interface CheckIo {
  readonly out: (line: string) => void
  readonly err: (line: string) => void
}

const USAGE = 'usage: l4lb check -c FILE'

const processIo: CheckIo = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
}

type Parsed = { ok: true; file: string } | { ok: false; message: string }

/** Flags: -c FILE | --config FILE | --config=FILE. Anything else is a usage error. */
export function parseCheckArgs(args: readonly string[]): Parsed {
  let file: string | undefined
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (arg.startsWith('--config=')) {
      file = arg.slice('--config='.length)
      if (file === '') return { ok: false, message: 'flag --config needs a file path' }
    } else if (arg === '-c' || arg === '--config') {
      const next = args[i + 1]
      if (next === undefined || (next.startsWith('-') && next !== '-')) return { ok: false, message: `flag ${arg} needs a file path` }
      file = next
      i++
    } else if (arg.startsWith('-')) {
      return { ok: false, message: `unknown flag ${arg}` }
    } else {
      return { ok: false, message: `unexpected argument "${arg}" (pass the file with -c)` }
    }
  }
  if (file === undefined) return { ok: false, message: 'missing required flag -c FILE' }
  return { ok: true, file }
}

function summary(file: string, c: Config): string {
  const backends = c.pools.reduce((n, p) => n + p.backends.length, 0)
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`
  return `${file}: OK (${plural(c.listeners.length, 'listener')}, ${plural(c.pools.length, 'pool')}, ` +
    `${plural(backends, 'backend')}, ${plural(c.workers, 'worker')})`
}

/** Which engine `run` would use here: `engine: auto -> native`, or JavaScript and why (not an error: it still runs). */
function engineLine(c: Config): string {
  const choice = engineChoice(c)
  const r = resolveEngine(choice)
  return r.note === null ? `engine: ${choice} -> ${r.engine}` : `engine: ${choice} -> js (native engine unavailable: ${r.note})`
}

/** Runs the check; resolves to the exit code. `io` defaults to stdout/stderr. */
export async function checkCommand(args: string[], io: CheckIo = processIo): Promise<number> {
  const parsed = parseCheckArgs(args)
  if (!parsed.ok) {
    io.err(`l4lb check: ${parsed.message}`)
    io.err(USAGE)
    return 2
  }
  const result = await loadConfigFile(parsed.file)
  if (result.ok) {
    const engine = engineProblem(result.config)
    if (engine !== null) {
      io.err(`${parsed.file}: ${engine}`)
      return 1
    }
    io.out(summary(parsed.file, result.config))
    io.out(engineLine(result.config))
    const f = result.config.fleet
    if (f !== null) io.out(`fleet: node ${f.node}; pools and timeouts come from ${f.prefix}/config on ${f.endpoints.join(', ')} (l4lb fleet push -c FILE to check and store them)`)
    return 0
  }
  for (const line of formatErrors(result.errors).split('\n')) io.err(line)
  if (result.code === CODES.LB_ERR_CONFIG_READ) return 1 // nothing was validated: no "invalid (N errors)" line
  const n = result.errors.length
  io.err(`${parsed.file}: invalid (${n} error${n === 1 ? '' : 's'})`)
  return 1
}
