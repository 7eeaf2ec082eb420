// The table of `l4lb` subcommands: one row per command with its synopsis,
// what it does, its flags and its exit codes. main.ts dispatches from it and
// prints `--help` for any command from it; docs/cli.md is checked against it
// (test/cli/help.test.ts). Each command's module is imported only when it
// runs, so `l4lb version` or `l4lb status` does not load the balancer.
export interface Command {
  readonly name: string
  /** After `l4lb `, e.g. "weight ID N [--pool P]". */
  readonly synopsis: string
  /** One line for the command list. */
  readonly summary: string
  readonly flags: readonly string[]
  /** "code meaning; code meaning; ..." exactly as docs/cli.md shows it. */
  readonly exits: string
  /** Resolves to the exit code, or a negative number for a server that keeps running. */
  readonly run: (argv: string[]) => Promise<number>
}

const ADMIN_FLAGS = [
  '--admin HOST:PORT   admin API address (default 127.0.0.1:9090; [v6]:port for IPv6)',
  '--token T           bearer token (default: env L4LB_ADMIN_TOKEN)',
]
const POOL_FLAG = '--pool P            the pool, when the id is in several pools'
const ADMIN_EXITS = '0 done; 1 refused by the admin API or API unreachable; 2 usage'

export const COMMANDS: readonly Command[] = [
  {
    name: 'run',
    synopsis: 'run -c FILE',
    summary: 'run the balancer (primary + workers) with FILE',
    flags: [
      '-c, --config FILE   the config file (YAML); SIGHUP re-reads it, SIGTERM/SIGINT drain then exit, a second signal exits now',
      '--hand-over         share the addresses of a running l4lb until it stops (deliberate take-over, like HAProxy -sf)',
      '--log-format F      json (default), pretty (human lines, pino-pretty) or auto (pretty on a terminal); env L4LB_LOG_FORMAT',
    ],
    exits: '0 stopped by a signal after draining; 1 invalid config or could not start (LB_ERR_LISTEN: a listener address is taken, not local or privileged); 2 usage; 130 a second signal cut the drain short',
    run: async (argv) => (await import('./run.ts')).runCommand(argv),
  },
  {
    name: 'check',
    synopsis: 'check -c FILE',
    summary: 'validate FILE; list every error with its key path',
    flags: ['-c, --config FILE   the config file (YAML)'],
    exits: '0 valid; 1 invalid or unreadable (every error on stderr); 2 usage',
    run: async (argv) => (await import('./check.ts')).checkCommand(argv),
  },
  {
    name: 'demo',
    synopsis: 'demo',
    summary: 'three local backends and a balancer in front of them',
    flags: ['--log-format F      auto (default: pretty on a terminal, JSON otherwise), pretty or json; env L4LB_LOG_FORMAT'],
    exits: '0 stopped by a signal; 1 could not start; 2 usage',
    run: async (argv) => (await import('./demo.ts')).demoCommand(argv),
  },
  {
    name: 'status',
    synopsis: 'status [--json]',
    summary: 'show listeners and backends (admin API GET /status)',
    flags: ['--json              the whole status document as JSON', ...ADMIN_FLAGS],
    exits: '0 the API answered; 1 refused by the admin API or API unreachable; 2 usage',
    run: async (argv) => (await import('./status.ts')).statusCommand(argv),
  },
  {
    name: 'reload',
    synopsis: 'reload',
    summary: 're-read the config file of a running l4lb (POST /reload; or send it SIGHUP)',
    flags: ADMIN_FLAGS,
    exits: '0 applied; 1 rejected (every error printed; the previous config keeps serving) or API unreachable; 2 usage',
    run: async (argv) => (await import('./reload.ts')).reloadCommand(argv),
  },
  {
    name: 'backend',
    synopsis: 'backend ID ready|drain|maint [--pool P]',
    summary: 'set the operator state of backend ID (POST /backends/ID/STATE)',
    flags: [POOL_FLAG, ...ADMIN_FLAGS],
    exits: ADMIN_EXITS,
    run: async (argv) => (await import('./backend.ts')).backendCommand(argv),
  },
  {
    name: 'drain',
    synopsis: 'drain ID [--pool P]',
    summary: 'stop new flows to backend ID; established ones go on (= backend ID drain)',
    flags: [POOL_FLAG, ...ADMIN_FLAGS],
    exits: ADMIN_EXITS,
    run: async (argv) => (await import('./drain.ts')).drainCommand(argv),
  },
  {
    name: 'weight',
    synopsis: 'weight ID N [--pool P]',
    summary: 'set the weight of backend ID to N, 0..256 (POST /backends/ID/weight)',
    flags: [POOL_FLAG, ...ADMIN_FLAGS],
    exits: ADMIN_EXITS,
    run: async (argv) => (await import('./backend.ts')).weightCommand(argv),
  },
  {
    name: 'fleet',
    synopsis: 'fleet push -c FILE | fleet status [--json]',
    summary: 'store the fleet\'s shared config in etcd (validated, compare-and-swap), or list the fleet\'s nodes and leader',
    flags: [
      '-c, --config FILE   push: the shared part (pools, timeouts) as YAML',
      '--node-config FILE  a node\'s file: the store from its fleet: section; push also validates against its listeners',
      '--endpoints URLS    instead: etcd URLs, comma-separated',
      '--prefix P          with --endpoints: the fleet\'s key prefix (default /l4lb)',
      '--expect-revision N push: store only if the key is still at revision N (0 = absent); default: the revision just read',
      '--json              status: the whole document as JSON',
    ],
    exits: '0 done; 1 invalid config or store unreachable (nothing written); 2 usage; 3 push conflict (the key is not at the revision read or given); 4 push outcome unknown (the store did not confirm the write before the deadline; etcd may still commit it)',
    run: async (argv) => (await import('./fleet.ts')).fleetCommand(argv),
  },
  {
    name: 'version',
    synopsis: 'version',
    summary: 'print the l4lb and Node.js versions (also: l4lb --version, l4lb -v as in HAProxy)',
    flags: [],
    exits: '0 printed; 2 usage',
    run: async (argv) => (await import('./version.ts')).versionCommand(argv),
  },
]

/** The command named `name`, or undefined. `--version`, `-v` and `-V` are `version`. */
export function findCommand(name: string): Command | undefined {
  const alias = name === '--version' || name === '-v' || name === '-V' ? 'version' : name
  return COMMANDS.find((c) => c.name === alias)
}

/** `l4lb CMD --help`: synopsis, summary, flags, exit codes. */
export function commandHelp(c: Command): string {
  const flags = c.flags.length === 0 ? [] : ['', 'flags:', ...c.flags.map((f) => `  ${f}`)]
  return [`usage: l4lb ${c.synopsis}`, '', c.summary, ...flags, '', `exit codes: ${c.exits}`, ''].join('\n')
}

/** `l4lb --help`: every command on one line. */
export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.synopsis.length))
  return [
    'usage: l4lb <command> [flags]        (l4lb <command> --help for its flags and exit codes)',
    '',
    ...COMMANDS.map((c) => `  ${c.synopsis.padEnd(width)}  ${c.summary}`),
    '',
    'admin commands (status, reload, backend, drain, weight) take --admin HOST:PORT (default 127.0.0.1:9090) and --token T',
    '',
  ].join('\n')
}

/** True when `argv` asks for help (before any `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--')
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h')
}
