// `l4lb backend ID ready|drain|maint [--pool P]` and `l4lb weight ID N
// [--pool P]`: the operator actions of the admin API (POST
// /backends/ID/STATE, POST /backends/ID/weight) from the command line.
// Exit 0 applied; 1 refused (unknown backend, id in several pools without
// --pool, weight out of range) or API unreachable; 2 usage.
import { EXIT_FAIL, EXIT_OK, EXIT_USAGE, adminRequest, errorText, processIo, runCommand, type AdminTarget, type Io, type ParsedArgs } from './admin-client.ts'
import type { StatusDoc } from '../admin/model.ts'
import { agentNote } from './status.ts'

export const BACKEND_USAGE = 'usage: l4lb backend ID ready|drain|maint [--pool P] [--admin HOST:PORT] [--token T]'
export const WEIGHT_USAGE = 'usage: l4lb weight ID N [--pool P] [--admin HOST:PORT] [--token T]   (N: integer 0..256, 0 takes no new flows)'

/** Operator states and what each means, as printed after a change. */
const STATES = {
  ready: 'ready: takes new connections (health checks permitting)',
  drain: 'draining: no new connections, established ones continue',
  maint: 'in maintenance: takes nothing new, hidden from check verdicts',
} as const
export type OperatorState = keyof typeof STATES

function isState(s: string): s is OperatorState {
  return Object.hasOwn(STATES, s)
}

function backendPath(id: string, action: string, pool: string | undefined): string {
  const query = pool === undefined ? '' : `?pool=${encodeURIComponent(pool)}`
  return `/backends/${encodeURIComponent(id)}/${action}${query}`
}

const where = (id: string, pool: string | undefined): string => `backend ${id}${pool === undefined ? '' : ` (pool ${pool})`}`

/** POST the state for `id`; prints one line; resolves to the exit code. Shared with `l4lb drain`. */
export async function setBackendState(p: ParsedArgs, io: Io, id: string, state: OperatorState): Promise<number> {
  const pool = p.options.get('pool')
  const reply = await adminRequest(p.target, 'POST', backendPath(id, state, pool))
  if (reply.status === 200) {
    const heldOut = state === 'ready' ? await agentHolds(p.target, id, pool) : null
    io.out(heldOut === null ? `${where(id, pool)} ${STATES[state]}` : `${where(id, pool)} ready, but still takes no new connections: its agent says ${heldOut}; only the agent can undo it`)
    return EXIT_OK
  }
  io.err(`${where(id, pool)} ${state}: ${errorText(reply)}`)
  return EXIT_FAIL
}

/**
 * What the backend's agent says when it keeps the backend out of new flows
 * (down, drain or maint), in `l4lb status`'s words ("drain 40%");
 * null when it does not, has no agent, or /status cannot be read. The
 * operator's `ready` never clears the agent's own state (backend-states.md).
 */
async function agentHolds(target: AdminTarget, id: string, pool: string | undefined): Promise<string | null> {
  try {
    const reply = await adminRequest(target, 'GET', '/status')
    if (reply.status !== 200) return null
    const rows = (reply.body as StatusDoc).pools.filter((p) => pool === undefined || p.name === pool).flatMap((p) => p.backends.filter((b) => b.id === id))
    const a = rows.length === 1 ? rows[0].agent : null
    return a !== null && (a.down || a.admin !== 'ready') ? agentNote(a).replace(/^ agent: /, '') : null
  } catch {
    return null
  }
}

export async function backendCommand(args: string[], io: Io = processIo): Promise<number> {
  return runCommand(args, { options: ['pool'] }, BACKEND_USAGE, io, async (p) => {
    const [id, state, extra] = p.positional
    if (id === undefined || state === undefined) {
      io.err(`${id === undefined ? 'missing backend ID' : 'missing state (ready, drain or maint)'}\n${BACKEND_USAGE}`)
      return EXIT_USAGE
    }
    if (!isState(state)) {
      io.err(`unknown state "${state}": expected ready, drain or maint\n${BACKEND_USAGE}`)
      return EXIT_USAGE
    }
    if (extra !== undefined) {
      io.err(`unexpected argument ${extra}\n${BACKEND_USAGE}`)
      return EXIT_USAGE
    }
    return setBackendState(p, io, id, state)
  })
}

export async function weightCommand(args: string[], io: Io = processIo): Promise<number> {
  return runCommand(args, { options: ['pool'] }, WEIGHT_USAGE, io, async (p) => {
    const [id, n, extra] = p.positional
    if (id === undefined || n === undefined) {
      io.err(`${id === undefined ? 'missing backend ID' : 'missing weight N'}\n${WEIGHT_USAGE}`)
      return EXIT_USAGE
    }
    if (!/^\d{1,9}$/.test(n)) {
      io.err(`weight "${n}" is not a non-negative integer\n${WEIGHT_USAGE}`)
      return EXIT_USAGE
    }
    if (extra !== undefined) {
      io.err(`unexpected argument ${extra}\n${WEIGHT_USAGE}`)
      return EXIT_USAGE
    }
    const pool = p.options.get('pool')
    const reply = await adminRequest(p.target, 'POST', backendPath(id, 'weight', pool), { weight: Number(n) })
    if (reply.status === 200) {
      io.out(`${where(id, pool)} weight ${Number(n)}`)
      return EXIT_OK
    }
    io.err(`${where(id, pool)} weight ${Number(n)}: ${errorText(reply)}`)
    return EXIT_FAIL
  })
}
