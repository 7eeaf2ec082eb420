// Drill 12, fleet-probes (issue 13): with the fleet, ONE node probes the backends for all.
// Counts, at the backends themselves (lab/node/responder.ts records each probe's arrival and
// its sender), the active health probes received over a window of WINDOW_MS: per backend,
// the probes per health interval (without a fleet every node probes: one per node, 5 here)
// and which addresses sent them. Expected: 1 prober per backend, the fleet's health leader,
// and about one probe per interval (the checker's jitter spreads them: bound 1 + jitter + slack).
import { drill, ms } from './lib/harness.ts'
import { probesAt, fleetNodes } from './lib/fleet.ts'
import { fleetView } from '../scripts/lib/labctl.ts'
import { byRole } from '../scripts/lib/data.ts'
import { nodeByBeAddr } from '../scripts/lib/labctl.ts'
import { nowMs } from '../scripts/lib/poll.ts'
import { setTimeout as delay } from 'node:timers/promises'

const WINDOW_MS = 10_000
const JITTER = 0.1 // l4lb's default pools[].health.jitter (the lab does not set it)
const dur = (s: string) => (s.endsWith('ms') ? Number(s.slice(0, -2)) : s.endsWith('s') ? Number(s.slice(0, -1)) * 1000 : Number(s))

await drill('12-fleet-probes', async (d) => {
  const interval = dur(d.lab.l4lb.health.interval)
  const before = await fleetView(d.lab)
  if (before.leader === null) throw new Error('no fleet health leader (is l4lb.fleet.enabled on in lab.yaml?)')
  const t0 = nowMs()
  d.mark(`window starts (leader ${before.leader})`, t0)
  await delay(WINDOW_MS)
  const t1 = nowMs()
  d.mark('window ends', t1)
  const after = await fleetView(d.lab)
  d.expect('health leader unchanged during the window', `${before.leader} -> ${after.leader}`, 'same', before.leader === after.leader && before.term === after.term)
  const perBackend: Record<string, { probers: string[]; probes: number; perInterval: number }> = {}
  for (const be of byRole(d.lab, 'backend').map((b) => b.name)) {
    const seen = await probesAt(d, be)
    const inWindow = Object.entries(seen).map(([peer, ts]) => [nodeByBeAddr(d.lab, peer) || peer, ts.filter((t) => t >= t0 && t < t1).length] as const).filter(([, n]) => n > 0)
    const probes = inWindow.reduce((a, [, n]) => a + n, 0)
    perBackend[be] = { probers: inWindow.map(([p]) => p), probes, perInterval: ms(probes / (WINDOW_MS / interval)) }
  }
  d.data.perBackend = perBackend
  d.data.nodes = fleetNodes(d.lab).length
  const probers = [...new Set(Object.values(perBackend).flatMap((b) => b.probers))]
  d.expect('nodes probing the backends', probers.join(', ') || 'none', `1: the leader (${before.leader}); without a fleet ${fleetNodes(d.lab).length}`,
    probers.length === 1 && probers[0] === before.leader)
  const max = 1 + JITTER + 0.15
  for (const [be, b] of Object.entries(perBackend)) {
    d.expect(`${be}: probes per health interval (${interval} ms)`, b.perInterval, `0.8 .. ${max} (1 prober; ${fleetNodes(d.lab).length} without a fleet)`, b.perInterval >= 0.8 && b.perInterval <= max)
  }
})
