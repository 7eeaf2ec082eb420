// Measure 3: bulk throughput through the proxy with iperf3 (client to server), one
// stream and `-P 4`. The proxy's `iperf` frontend has a single backend, the iperf3
// server, so the control and data connections reach the same server.
import { runTool } from './procs.ts'

interface IperfJson {
  readonly error?: string
  readonly end?: { readonly sum_received?: { readonly bits_per_second?: number } }
}

/** Gbit/s received by the server over a `seconds` run with `streams` parallel streams. */
export async function measureIperf(port: number, seconds: number, streams: number): Promise<number> {
  const args = ['-c', '127.0.0.1', '-p', String(port), '-t', String(seconds), '-P', String(streams), '-J', '--connect-timeout', '5000']
  // Several tries: the server serves one test at a time and may still be closing the last one.
  let last = ''
  for (let attempt = 0; attempt < 3; attempt++) {
    const res = await runTool('iperf3', args, (seconds + 20) * 1000)
    let parsed: IperfJson | null = null
    try {
      parsed = JSON.parse(res.stdout) as IperfJson
    } catch {
      parsed = null
    }
    const bps = parsed?.end?.sum_received?.bits_per_second
    if (!res.timedOut && typeof bps === 'number' && !parsed?.error) return bps / 1e9
    last = res.timedOut ? 'timed out' : (parsed?.error ?? (res.stderr || res.stdout.slice(0, 500)))
    await new Promise((r) => setTimeout(r, 1000))
  }
  throw new Error(`iperf3 ${args.join(' ')}: ${last}`)
}
