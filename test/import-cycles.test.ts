// No folder-level import cycles among src/ folders: when two folders import
// each other, neither can be understood, tested or replaced alone, and shared
// vocabulary belongs in a folder both can import. Folders are the first path
// segment under src/ (src/health/probes/ counts as health); files directly
// in src/ (log.ts, errors.ts ...) form the folder "src". Type-only imports
// count too: they are the vocabulary that couples the folders.
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import ts from 'typescript'

const SRC = resolve(import.meta.dirname, '../src')

/**
 * Folder pairs allowed to import each other: none. (config <-> balancer was
 * the last; the policy table in src/balancer removed it.) An entry that no
 * longer forms a cycle fails the test, so none can linger.
 */
const ALLOWED: readonly (readonly [string, string])[] = []

/** One import between two files in different folders (paths relative to src/). */
interface Edge {
  readonly from: string
  readonly to: string
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name)
    if (d.isDirectory()) return tsFiles(p)
    return d.name.endsWith('.ts') ? [p] : []
  })
}

const folderOf = (rel: string): string => (rel.includes(sep) ? rel.split(sep)[0] : 'src')

/** Every relative import (static, type-only, re-export, dynamic) of src/**\/*.ts that crosses folders. */
function crossFolderImports(): Edge[] {
  const edges: Edge[] = []
  for (const file of tsFiles(SRC)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
    for (const imp of importedFiles) {
      if (!imp.fileName.startsWith('.')) continue // packages and node: builtins
      const from = relative(SRC, file)
      const to = relative(SRC, resolve(dirname(file), imp.fileName))
      if (folderOf(from) !== folderOf(to)) edges.push({ from, to })
    }
  }
  return edges
}

/**
 * Strongly connected components of the folder graph with more than one folder
 * (Tarjan's algorithm), each as a sorted list of folder names.
 */
function cyclicGroups(edges: readonly Edge[]): string[][] {
  const next = new Map<string, Set<string>>()
  for (const e of edges) {
    const a = folderOf(e.from)
    if (!next.has(a)) next.set(a, new Set())
    next.get(a)!.add(folderOf(e.to))
  }
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const groups: string[][] = []
  const visit = (v: string): void => {
    index.set(v, index.size)
    low.set(v, index.get(v)!)
    stack.push(v)
    onStack.add(v)
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) !== index.get(v)) return
    const group: string[] = []
    for (let w = ''; w !== v; ) {
      w = stack.pop()!
      onStack.delete(w)
      group.push(w)
    }
    if (group.length > 1) groups.push(group.sort())
  }
  for (const v of next.keys()) if (!index.has(v)) visit(v)
  return groups.sort((a, b) => a.join().localeCompare(b.join()))
}

/**
 * How a group is tied together: for each of its folders, the shortest folder
 * cycle through it (duplicates dropped), each step with the imports that make
 * it, as "proxy -> cluster: src/proxy/engine.ts -> src/cluster/snapshot.ts".
 */
function explain(group: readonly string[], edges: readonly Edge[]): string[] {
  const inside = new Set(group)
  const step = new Map<string, string[]>() // "a>b" -> imports
  for (const e of edges) {
    const a = folderOf(e.from)
    const b = folderOf(e.to)
    if (!inside.has(a) || !inside.has(b)) continue
    const k = `${a}>${b}`
    step.set(k, [...(step.get(k) ?? []), `src/${e.from} -> src/${e.to}`])
  }
  const seen = new Set<string>()
  const lines: string[] = []
  for (const start of group) {
    // Breadth-first from start back to start: the shortest cycle through it.
    const prev = new Map<string, string>()
    const queue = [start]
    let last: string | undefined
    while (queue.length > 0 && last === undefined) {
      const v = queue.shift()!
      for (const w of group) {
        if (!step.has(`${v}>${w}`)) continue
        if (w === start) {
          last = v
          break
        }
        if (!prev.has(w)) {
          prev.set(w, v)
          queue.push(w)
        }
      }
    }
    if (last === undefined) continue
    const path = [start]
    for (let v = last; v !== start; v = prev.get(v)!) path.splice(1, 0, v)
    const id = [...path].sort().join()
    if (seen.has(id)) continue
    seen.add(id)
    lines.push(`cycle ${[...path, start].join(' -> ')}`)
    path.forEach((a, i) => {
      const b = path[(i + 1) % path.length]
      lines.push(`  ${a} -> ${b}: ${step.get(`${a}>${b}`)!.sort().join(', ')}`)
    })
  }
  return lines
}

const allowed = (group: readonly string[]): boolean =>
  group.length === 2 && ALLOWED.some(([a, b]) => [a, b].sort().join() === group.join())

t.test('the checker finds a cycle and names the files that form it', async (t) => {
  const edges: Edge[] = [
    { from: join('proxy', 'engine.ts'), to: join('health', 'snapshot.ts') },
    { from: join('health', 'probes', 'dial.ts'), to: join('proxy', 'encode.ts') },
    { from: join('admin', 'server.ts'), to: join('proxy', 'engine.ts') },
    { from: 'log.ts', to: join('net', 'ip.ts') },
  ]
  const groups = cyclicGroups(edges)
  t.same(groups, [['health', 'proxy']])
  t.same(explain(groups[0], edges), [
    'cycle health -> proxy -> health',
    '  health -> proxy: src/health/probes/dial.ts -> src/proxy/encode.ts',
    '  proxy -> health: src/proxy/engine.ts -> src/health/snapshot.ts',
  ])
  t.same(cyclicGroups(edges.slice(1)), [], 'one direction only: no cycle')
})

t.test('no folder of src/ imports a folder that imports it back', async (t) => {
  const edges = crossFolderImports()
  t.ok(edges.length > 20, `the import scan sees the cross-folder imports (${edges.length})`)
  const groups = cyclicGroups(edges)
  for (const g of groups.filter((g) => !allowed(g))) {
    t.fail(`import cycle between folders ${g.join(', ')}`, { cycles: explain(g, edges) })
  }
  for (const [a, b] of ALLOWED) {
    t.ok(groups.some((g) => g.join() === [a, b].sort().join()), `allow-listed ${a} <-> ${b} is still a cycle (else remove it from ALLOWED)`)
  }
})
