// `l4lb run -c FILE`: validate the config, start the primary (workers,
// health checks, admin API) and serve until a signal says otherwise.
import { startAdminServer } from '../admin/server.ts'
import { adminModel } from '../cluster/admin-model.ts'
import { Primary, StartError } from '../cluster/primary.ts'
import { installSignals } from '../cluster/signals.ts'
import { formatErrors } from '../config/format.ts'
import { loadConfigFile } from '../config/load.ts'
import { engineProblem } from '../proxy/engine-choice.ts'
import type { Config } from '../config/types.ts'
import { child, flushLog, setLogFormat, setLogLevel } from '../log.ts'
import { chooseLogFormat, LOG_FORMAT_ENV, type LogFormatChoice } from '../log-format.ts'
import { ADMIN_LABEL, BindError } from '../proxy/bind-error.ts'
import { parseArgs } from './args.ts'
import { CODES } from '../errors.ts'
import { attachFleet, fleetPrimaryOptions, prepareFleet, type FleetNode } from '../fleet/node.ts'

const log = child('primary')

export interface Running {
  readonly primary: Primary
  readonly adminPort: number | null
  stop(): Promise<void>
}

/**
 * Start a primary for `config` (shared by `run` and `demo`): the admin API
 * first (nothing is forked when its address is taken), then the listeners and
 * workers. Rejects with a BindError or StartError after undoing what it
 * started; the caller exits 1.
 */
export async function startPrimary(config: Config, configPath: string | null, opts: { handOver?: boolean; fleet?: FleetNode } = {}): Promise<Running> {
  setLogLevel(config.log.level)
  const fleet = opts.fleet
  const primary = new Primary({ config, configPath, log, handOver: opts.handOver, ...(fleet ? fleetPrimaryOptions(fleet) : {}) })
  if (fleet) attachFleet(fleet, primary)
  let admin: Awaited<ReturnType<typeof startAdminServer>> | null = null
  try {
    if (config.admin.enabled) {
      const { host, port } = config.admin.bind
      admin = await startAdminServer(config.admin, adminModel(primary), child('admin'), { current: () => primary.config.admin }).catch((err: NodeJS.ErrnoException) => {
        throw typeof err.code === 'string' ? BindError.from(ADMIN_LABEL, host, port, err) : err
      })
    }
    await primary.start()
  } catch (err) {
    await admin?.close()
    await fleet?.agent.stop()
    throw err
  }
  fleet?.agent.start(primary)
  const stop = async (): Promise<void> => {
    await fleet?.agent.stop()
    await admin?.close()
  }
  installSignals(primary, log, stop)
  if (fleet) {
    // Leave the fleet when the drain starts, not after it: a stopping leader no
    // longer probes, so it must not keep publishing its last results.
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void fleet.agent.stop())
  }
  return { primary, adminPort: admin?.port ?? null, stop }
}

/**
 * Apply the log format from `--log-format` (a value in `flags`), L4LB_LOG_FORMAT
 * or `commandDefault` (log-format.ts). Returns an error message for a bad value.
 */
export function applyLogFormat(flags: ReadonlyMap<string, string | true>, commandDefault: LogFormatChoice): string | null {
  const flag = flags.get('log-format')
  const format = chooseLogFormat({ flag: typeof flag === 'string' ? flag : undefined, env: process.env[LOG_FORMAT_ENV], commandDefault, isTTY: Boolean(process.stdout.isTTY) })
  if (format instanceof Error) return format.message
  setLogFormat(format)
  return null
}

export async function runCommand(argv: string[]): Promise<number> {
  const parsed = parseArgs(argv, { config: 'value', 'hand-over': 'bool', 'log-format': 'value' }, { '-c': 'config' })
  if (!parsed.ok) {
    process.stderr.write(`l4lb run: ${parsed.error}\n`)
    return 2
  }
  const badFormat = applyLogFormat(parsed.args.flags, 'json')
  if (badFormat !== null) {
    process.stderr.write(`l4lb run: ${badFormat}\n`)
    return 2
  }
  const path = parsed.args.flags.get('config')
  if (typeof path !== 'string') {
    process.stderr.write('l4lb run: missing -c FILE\n')
    return 2
  }
  const result = await loadConfigFile(path)
  if (!result.ok) {
    process.stderr.write(`${path}: invalid configuration (${result.code})\n${formatErrors(result.errors)}\n`)
    return 1
  }
  const engine = engineProblem(result.config)
  if (engine !== null) {
    process.stderr.write(`${path}: invalid configuration (${CODES.LB_ERR_CONFIG_INVALID})\n${engine}\n`)
    return 1
  }
  let config = result.config
  let fleet: FleetNode | undefined
  if (config.fleet !== null) {
    const node = await prepareFleet(config.fleet, path, child('fleet'))
    if ('error' in node) {
      process.stderr.write(`l4lb run: ${path}: cannot start the fleet node (${node.code})\n${node.error}\n`)
      return 1
    }
    fleet = node
    config = node.config
  }
  try {
    const r = await startPrimary(config, path, { handOver: parsed.args.flags.has('hand-over'), fleet })
    const listeners = Object.fromEntries(r.primary.config.listeners.map((l) => [l.name, l.bind.port]))
    log.info({ listeners, admin: r.adminPort, workers: config.workers }, 'l4lb running')
  } catch (err) {
    const code = err instanceof StartError ? err.code : err instanceof BindError ? CODES.LB_ERR_LISTEN : CODES.LB_ERR_CONFIG_INVALID
    const message = (err as Error).message
    log.fatal({ code, err: message }, 'could not start')
    flushLog()
    process.stderr.write(`l4lb run: could not start (${code}): ${message}\n`)
    return 1
  }
  return -1 // keep running
}
