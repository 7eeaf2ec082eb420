// `l4lb run -c FILE`: validate the config, start the primary (workers,
// health checks, admin API) and serve until a signal says otherwise.
import { startAdminServer } from '../admin/server.ts'
import { adminModel } from '../cluster/admin-model.ts'
import { Primary } from '../cluster/primary.ts'
import { installSignals } from '../cluster/signals.ts'
import { formatErrors } from '../config/format.ts'
import { loadConfigFile } from '../config/load.ts'
import type { Config } from '../config/types.ts'
import { child, flushLog, setLogLevel } from '../log.ts'
import { parseArgs } from './args.ts'

const log = child('primary')

export interface Running {
  readonly primary: Primary
  readonly adminPort: number | null
  stop(): Promise<void>
}

/** Start a primary for `config` (shared by `run` and `demo`). */
export async function startPrimary(config: Config, configPath: string | null): Promise<Running> {
  setLogLevel(config.log.level)
  const primary = new Primary({ config, configPath, log })
  await primary.start()
  const admin = config.admin.enabled ? await startAdminServer(config.admin, adminModel(primary), child('admin')) : null
  const stop = async (): Promise<void> => {
    await admin?.close()
  }
  installSignals(primary, log, stop)
  return { primary, adminPort: admin?.port ?? null, stop }
}

export async function runCommand(argv: string[]): Promise<number> {
  const parsed = parseArgs(argv, { config: 'value' }, { '-c': 'config' })
  if (!parsed.ok) {
    process.stderr.write(`l4lb run: ${parsed.error}\n`)
    return 2
  }
  const path = parsed.args.flags.get('config')
  if (typeof path !== 'string') {
    process.stderr.write('l4lb run: missing -c FILE\n')
    return 2
  }
  const result = await loadConfigFile(path)
  if (!result.ok) {
    const code = result.errors.some((e) => /file not found|cannot read/.test(e.message)) ? 'LB_ERR_CONFIG_READ' : 'LB_ERR_CONFIG_INVALID'
    process.stderr.write(`${path}: invalid configuration (${code})\n${formatErrors(result.errors)}\n`)
    return 1
  }
  try {
    const r = await startPrimary(result.config, path)
    log.info({ listeners: Object.fromEntries(r.primary.listenerPorts), admin: r.adminPort, workers: result.config.workers }, 'l4lb running')
  } catch (err) {
    log.fatal({ code: 'LB_ERR_LISTEN', err: (err as Error).message }, 'could not start')
    flushLog()
    return 1
  }
  return -1 // keep running
}
