// Wiring a fleet node into `l4lb run`: read the shared part (store, else the
// last-known-good file), then hand the primary its loader and health hooks.
import type { Logger } from 'pino'
import type { Primary, PrimaryOptions } from '../cluster/primary.ts'
import type { FleetConfig } from '../config/types.ts'
import { CODES, type ErrorCode } from '../errors.ts'
import { FleetAgent } from './agent.ts'
import { fleetBoot } from './boot.ts'
import type { HealthDoc } from './health-doc.ts'
import { fleetClient, storeError } from './store.ts'

export interface FleetNode {
  readonly agent: FleetAgent
  readonly config: Extract<Awaited<ReturnType<typeof fleetBoot>>, { ok: true }>['config']
  readonly health: HealthDoc | null
}

/** The fleet node for the file at `path` (whose `fleet` is `fleet`), or why it cannot start and its code. */
export async function prepareFleet(fleet: FleetConfig, path: string, log: Logger): Promise<FleetNode | { error: string; code: ErrorCode }> {
  let client
  try {
    client = fleetClient(fleet)
  } catch (err) {
    return { error: `fleet.tls: ${storeError(err)}`, code: CODES.LB_ERR_CONFIG_INVALID }
  }
  const boot = await fleetBoot(path, client)
  if (!boot.ok) {
    client.close()
    return { error: boot.message, code: boot.code }
  }
  return { agent: new FleetAgent({ client, fleet, configPath: path, boot, log }), config: boot.config, health: boot.health }
}

/** The Primary options a fleet node adds: reloads compose with the store, health changes are published. */
export function fleetPrimaryOptions(node: FleetNode): Pick<PrimaryOptions, 'loadConfig' | 'onHealthChange'> {
  return { loadConfig: node.agent.config.load, onHealthChange: () => node.agent.health.publish() }
}

/** Before primary.start(): adopt the leader's current results (no probe from a follower), expose the status. */
export function attachFleet(node: FleetNode, primary: Primary): void {
  node.agent.health.attach(primary.health, node.health)
  primary.fleetStatus = () => node.agent.status()
}
