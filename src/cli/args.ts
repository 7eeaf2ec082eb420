// Tiny flag parser shared by the subcommands: `-c FILE`, `--config FILE`,
// `--flag value`, `--flag=value`, booleans, positionals. Unknown flags are an
// error that names the flag.
export interface ParsedArgs {
  readonly flags: Map<string, string | true>
  readonly positionals: string[]
}

export type ArgsResult = { ok: true; args: ParsedArgs } | { ok: false; error: string }

/** `spec` maps each accepted flag (and alias) to 'value' or 'bool'; aliases via `-c=config`-style keys. */
export function parseArgs(argv: readonly string[], spec: Record<string, 'value' | 'bool'>, aliases: Record<string, string> = {}): ArgsResult {
  const flags = new Map<string, string | true>()
  const positionals: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (!a.startsWith('-') || a === '-') {
      positionals.push(a)
      continue
    }
    const eq = a.indexOf('=')
    const raw = eq === -1 ? a : a.slice(0, eq)
    const name = aliases[raw] ?? raw.replace(/^--?/, '')
    const kind = spec[name]
    if (kind === undefined) return { ok: false, error: `unknown flag ${raw}` }
    if (kind === 'bool') {
      flags.set(name, true)
      continue
    }
    const value = eq !== -1 ? a.slice(eq + 1) : argv[++i]
    if (value === undefined) return { ok: false, error: `flag ${raw} needs a value` }
    flags.set(name, value)
  }
  return { ok: true, args: { flags, positionals } }
}
