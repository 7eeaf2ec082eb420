// `l4lb reload [--admin HOST:PORT] [--token T]`: POST /reload. Exit 0 when the
// new config was applied; 1 with every validation error printed when it was
// rejected (the previous config keeps serving) or the API is unreachable.
import { EXIT_FAIL, EXIT_OK, EXIT_USAGE, adminRequest, errorText, processIo, runCommand, type Io } from './admin-client.ts'

const USAGE = 'usage: l4lb reload [--admin HOST:PORT] [--token T]'

export async function reloadCommand(args: string[], io: Io = processIo): Promise<number> {
  return runCommand(args, {}, USAGE, io, async (p) => {
    if (p.positional.length > 0) {
      io.err(`unexpected argument ${p.positional[0]}\n${USAGE}`)
      return EXIT_USAGE
    }
    const reply = await adminRequest(p.target, 'POST', '/reload')
    if (reply.status === 200) {
      io.out('reload applied')
      return EXIT_OK
    }
    const errors = (reply.body as { errors?: unknown } | null)?.errors
    if (reply.status === 422 && Array.isArray(errors)) {
      io.err(['reload rejected; the previous config keeps serving:', ...errors.map((e) => `  ${String(e)}`)].join('\n'))
      return EXIT_FAIL
    }
    io.err(`reload failed: ${errorText(reply)}`)
    return EXIT_FAIL
  })
}
