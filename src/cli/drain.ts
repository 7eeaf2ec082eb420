// `l4lb drain ID [--pool P] [--admin HOST:PORT] [--token T]`: POST
// /backends/ID/drain. The backend keeps its established connections and
// takes no new ones. Exit 0 when drained; 1 when the backend is unknown, the
// id is in several pools (give --pool), or the API is unreachable; 2 on usage.
import { EXIT_FAIL, EXIT_OK, EXIT_USAGE, adminRequest, errorText, processIo, runCommand, type Io } from './admin-client.ts'

const USAGE = 'usage: l4lb drain ID [--pool P] [--admin HOST:PORT] [--token T]'

export async function drainCommand(args: string[], io: Io = processIo): Promise<number> {
  return runCommand(args, { options: ['pool'] }, USAGE, io, async (p) => {
    if (p.positional.length !== 1) {
      io.err(`${p.positional.length === 0 ? 'missing backend ID' : `unexpected argument ${p.positional[1]}`}\n${USAGE}`)
      return EXIT_USAGE
    }
    const id = p.positional[0]
    const pool = p.options.get('pool')
    const query = pool === undefined ? '' : `?pool=${encodeURIComponent(pool)}`
    const reply = await adminRequest(p.target, 'POST', `/backends/${encodeURIComponent(id)}/drain${query}`)
    if (reply.status === 200) {
      io.out(`backend ${id}${pool === undefined ? '' : ` (pool ${pool})`} draining: no new connections, established ones continue`)
      return EXIT_OK
    }
    io.err(`drain ${id}: ${errorText(reply)}`)
    return EXIT_FAIL
  })
}
