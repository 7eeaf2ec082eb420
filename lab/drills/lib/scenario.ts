// Steps several drills share: waiting on the router's route watcher, letting
// load accumulate (by counting results, not by sleeping), reading a node's agent
// events, and snapshotting which backend each client address reaches.
import { type Drill, CONN_TIMEOUT_MS, viaNode } from './harness.ts'
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
  await s.until(`${n} more connections`, () => s.of('conn').length >= start + n, deadlineMs)
}

/** Waits until the stream has finished connections that STARTED after time t (deadline-bounded). */
export async function connsAfter(s: Stream, t: number, n: number, deadlineMs = 20_000): Promise<void> {
  // Once per poll: waitFor() would run this O(n) count once per event (O(n^2) on a long load,
  // seconds per poll with 12,000 connections, starving the stream reader past the deadline).
  await s.until(`${n} connections started after ${t}`, () => s.of('conn').filter((c) => Number(c.t0) > t).length >= n, deadlineMs)
}

/**
 * Established flows lost on the nodes that did NOT move (issue 10, kind 6): long-lived connections of
 * `hold` through nodes other than `moved`, lost in [from, to). With the lab's resilient nexthop group
 * (ecmp.mode resilient) a node leaving or joining must cost none of them: an expectation of 0; with
 * plain hash-threshold ECMP the rehash costs some: reported.
 */
export function survivorLoss(d: Drill, hold: Stream, moved: string[], from: number, to: number, label = ''): void {
  const others = hold.of('held').filter((h) => !moved.includes(viaNode(d.lab, h.peer)))
  const lost = hold.of('lost').filter((e) => Number(e.t) >= from && Number(e.t) < to && !moved.includes(viaNode(d.lab, e.peer))).length
  const what = `${label}established on the other nodes lost (not ${moved.join(', ')})`
  if (d.lab.ecmp.mode === 'resilient') d.expect(what, `${lost}/${others.length}`, '0 (resilient nexthop group)', lost === 0)
  else d.report(`${what}, plain ECMP rehash`, `${lost}/${others.length}`)
}

/** The agent events a node recorded after time t. */
export async function agentEvents(d: Drill, node: string, after: number): Promise<Ev[]> {
  const out = await d.sh(node, 'cat /run/lab/events.jsonl 2>/dev/null || true')
  return out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Ev).filter((e) => Number(e.t) >= after)
}

/** A client address whose connections reached more than one backend, with each backend and the lb node it came through. */
export interface Split { src: string; seen: string[] }

/**
 * Client address -> backend, from a burst of `perSource` connections per client address.
 * sticky: every connection succeeded and each address reached exactly one backend;
 * split: the addresses that reached several ("be2 via lb1"), failed: connections that failed.
 */
export async function mapping(d: Drill, vip: string, perSource = 4): Promise<{ map: Map<string, string>; sticky: boolean; conns: Ev[]; split: Split[]; failed: number }> {
  const conns = await d.burst(vip, d.sources().length * perSource, 16, CONN_TIMEOUT_MS)
  const seen = new Map<string, Set<string>>()
  const via = new Map<string, Set<string>>()
  for (const c of conns) {
    if (!c.ok) continue
    const s = String(c.src)
    if (!seen.has(s)) { seen.set(s, new Set()); via.set(s, new Set()) }
    seen.get(s)?.add(String(c.be))
    via.get(s)?.add(`${String(c.be)} via ${viaNode(d.lab, c.peer)}`)
  }
  const map = new Map<string, string>()
  const failed = conns.filter((c) => !c.ok).length
  const split: Split[] = []
  let sticky = failed === 0 && seen.size === d.sources().length
  for (const [s, set] of seen) {
    if (set.size !== 1) { sticky = false; split.push({ src: s, seen: [...(via.get(s) ?? [])].sort() }) }
    map.set(s, [...set].join('+'))
  }
  return { map, sticky, conns, split, failed }
}

export function sameMap(a: Map<string, string>, b: Map<string, string>): number {
  let same = 0
  for (const [k, v] of a) if (b.get(k) === v) same++
  return same
}
