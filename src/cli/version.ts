// `l4lb version` / `l4lb --version`: print "l4lb X.Y.Z (node vA.B.C)" from
// package.json (src/version.ts). Exit 0; 2 on any argument other than --help.
import { EXIT_OK, EXIT_USAGE, processIo, type Io } from './admin-client.ts'
import { VERSION } from '../version.ts'

const USAGE = 'usage: l4lb version    (also: l4lb --version)\nprint the l4lb version and the Node.js version running it'

export async function versionCommand(args: string[], io: Io = processIo): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.out(USAGE)
    return EXIT_OK
  }
  if (args.length > 0) {
    io.err(`unexpected argument ${args[0]}\n${USAGE}`)
    return EXIT_USAGE
  }
  io.out(`l4lb ${VERSION} (node ${process.version})`)
  return EXIT_OK
}
