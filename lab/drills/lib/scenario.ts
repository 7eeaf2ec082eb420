// Steps several drills share: waiting on the router's route watcher, letting
// load accumulate (by counting results, not by sleeping), reading a node's agent
// events, and snapshotting which backend each client address reaches.
import type { Drill } from './harness.ts'
import type { Stream, Ev } from './stream.ts'
import { lbAddr } from '../../scripts/lib/labctl.ts'

/** Waits for a route event (after `after`) whose active nexthops satisfy pred; returns its time. */
export async function routeEvent(w: Stream, what: string, after: number, pred: (active: string[]) => boolean, deadlineMs: number): Promise<number> {
  const e = await w.waitFor(what, (e) => e.ev === 'route' && Number(e.t) >= after && pred(e.active as string[]), deadlineMs)
  return Number(e.t)
}

export function hasNode(d: Drill, name: string): (a: string[]) => boolean {
  const addr = lbAddr(d.lab, name)
  return (a) => a.includes(addr)
}

/** Waits until the stream has `n` more finished connections than it had when called (deadline-bounded). */
export async function moreConns(s: Stream, n: number, deadlineMs = 20_000): Promise<void> {
  const start = s.of('conn').length
  await s.waitFor(`${n} more connections`, () => s.of('conn').length >= start + n, deadlineMs)
}

/** Waits until the stream has finished connections that STARTED after time t (deadline-bounded). */
export async function connsAfter(s: Stream, t: number, n: number, deadlineMs = 20_000): Promise<void> {
  await s.waitFor(`${n} connections started after ${t}`, () => s.of('conn').filter((c) => Number(c.t0) > t).length >= n, deadlineMs)
}

/** The agent events a node recorded after time t. */
export async function agentEvents(d: Drill, node: string, after: number): Promise<Ev[]> {
  const out = await d.sh(node, 'cat /run/lab/events.jsonl 2>/dev/null || true')
  return out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Ev).filter((e) => Number(e.t) >= after)
}

/** Client address -> backend, from a burst of `perSource` connections per client address. */
export async function mapping(d: Drill, vip: string, perSource = 4): Promise<{ map: Map<string, string>; sticky: boolean; conns: Ev[] }> {
  const conns = await d.burst(vip, d.sources().length * perSource, 16)
  const seen = new Map<string, Set<string>>()
  for (const c of conns) {
    if (!c.ok) continue
    const s = String(c.src)
    if (!seen.has(s)) seen.set(s, new Set())
    seen.get(s)?.add(String(c.be))
  }
  const map = new Map<string, string>()
  let sticky = conns.every((c) => c.ok) && seen.size === d.sources().length
  for (const [s, set] of seen) { if (set.size !== 1) sticky = false; map.set(s, [...set].join('+')) }
  return { map, sticky, conns }
}

export function sameMap(a: Map<string, string>, b: Map<string, string>): number {
  let same = 0
  for (const [k, v] of a) if (b.get(k) === v) same++
  return same
}
