// `l4lb drain ID [--pool P] [--admin HOST:PORT] [--token T]`: POST
// /backends/ID/drain, the same as `l4lb backend ID drain`. The backend keeps
// its established connections and takes no new ones. Exit 0 when drained; 1
// when the backend is unknown, the id is in several pools (give --pool), or
// the API is unreachable; 2 on usage.
import { EXIT_USAGE, processIo, runCommand, type Io } from './admin-client.ts'
import { setBackendState } from './backend.ts'

export const DRAIN_USAGE = 'usage: l4lb drain ID [--pool P] [--admin HOST:PORT] [--token T]'

export async function drainCommand(args: string[], io: Io = processIo): Promise<number> {
  return runCommand(args, { options: ['pool'] }, DRAIN_USAGE, io, async (p) => {
    if (p.positional.length !== 1) {
      io.err(`${p.positional.length === 0 ? 'missing backend ID' : `unexpected argument ${p.positional[1]}`}\n${DRAIN_USAGE}`)
      return EXIT_USAGE
    }
    return setBackendState(p, io, p.positional[0], 'drain')
  })
}
