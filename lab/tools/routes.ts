// Reads `ip -j route show VIP/32` (+ `ip -j nexthop show`) into nexthop gateway lists.
// "bird": BIRD's own route (proto bird); "active": the lowest-metric route, which the
// kernel uses (a resilient nexthop group installed over BIRD's route wins this way).
// No route yields empty lists and kind "none".
export interface Route { dst?: string; gateway?: string; nhid?: number; protocol?: string; metric?: number; nexthops?: Array<{ gateway: string }> }
export interface Nh { id: number; gateway?: string; group?: Array<{ id: number }>; type?: string }
export interface VipRoutes { bird: string[]; active: string[]; kind: 'none' | 'single' | 'multipath' | 'nexthop-group' }

export function gwsFrom(routes: Route[], nhs: Nh[]): VipRoutes {
  const gws = (r: Route | undefined): string[] => {
    if (!r) return []
    if (r.nexthops) return r.nexthops.map((n) => n.gateway).sort()
    if (r.gateway) return [r.gateway]
    if (r.nhid !== undefined) {
      const g = nhs.find((n) => n.id === r.nhid)
      return (g?.group ? g.group.map((m) => m.id) : [r.nhid]).map((id) => nhs.find((n) => n.id === id)?.gateway ?? `nh${id}`).sort()
    }
    return []
  }
  const active = [...routes].sort((x, y) => (x.metric ?? 0) - (y.metric ?? 0))[0]
  const kind = !active ? 'none' : active.nhid !== undefined ? 'nexthop-group' : active.nexthops ? 'multipath' : 'single'
  return { bird: gws(routes.find((r) => r.protocol === 'bird')), active: gws(active), kind }
}
