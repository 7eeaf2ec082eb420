// The build context of the l4lb container image (deploy/Dockerfile), made
// without any registry: `npm pack` (prepack builds dist/), then the tarball
// installed into DIR/app with `npm ci --offline` from the npm cache (lockfile:
// scripts/app-lock.ts; l4lb's install script runs, so the native engine is
// built by the system C compiler when there is one), and the pinned Node binary (the one running this
// script, node_modules/node) as DIR/node.
//   node scripts/image-context.ts DIR      (DIR must be empty or absent)
// test/packaging/install.test.ts uses prepareContext() for the same steps.
import { spawnSync } from 'node:child_process'
import { copyFileSync, linkSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { appProject, type Lockfile, type PackageJson } from './app-lock.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

export interface Context {
  readonly dir: string
  readonly tarball: string // file name inside dir
  readonly packed: readonly string[] // paths inside the package
  readonly app: string // dir/app: the installed project (node_modules/l4lb, its dependencies)
  readonly node: string // dir/node
}

/** Environment for child npm/node: this Node first on PATH, no variables an outer `npm run` exported about itself. */
export function childEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^npm_(lifecycle|package|command|config_(?!cache$|userconfig$))/.test(k)) env[k] = v
  }
  env.PATH = [dirname(process.execPath), process.env.PATH ?? ''].join(delimiter)
  return env
}

function npm(args: string[], cwd: string): string {
  const execpath = process.env.npm_execpath
  const [cmd, argv] = execpath?.endsWith('.js') ? [process.execPath, [execpath, ...args]] : ['npm', args]
  const r = spawnSync(cmd, argv, { cwd, env: childEnv(), encoding: 'utf8', timeout: 240_000 })
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} (in ${cwd}) failed with ${r.status ?? r.signal}:\n${r.stderr}`)
  return r.stdout
}

/** Pack, install offline, copy Node into `dir` (created; must be empty). Throws with npm's stderr on failure. */
export function prepareContext(dir: string): Context {
  mkdirSync(dir, { recursive: true })
  if (readdirSync(dir).length > 0) throw new Error(`${dir} is not empty`)
  const [info] = JSON.parse(npm(['pack', '--pack-destination', dir, '--json'], ROOT)) as { filename: string; files: { path: string }[] }[]
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as Lockfile
  const app = join(dir, 'app')
  mkdirSync(app)
  const project = appProject(pkg, lock, `../${info.filename}`, join(dir, info.filename))
  writeFileSync(join(app, 'package.json'), JSON.stringify(project.packageJson, null, 2))
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify(project.lockfile, null, 2))
  npm(['ci', '--offline', '--no-audit', '--no-fund'], app)
  const node = join(dir, 'node')
  try {
    linkSync(process.execPath, node) // 120 MB: a hard link when on the same file system
  } catch {
    copyFileSync(process.execPath, node)
  }
  return { dir, tarball: info.filename, packed: info.files.map((f) => f.path), app, node }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2]
  if (dir === undefined) {
    process.stderr.write('usage: node scripts/image-context.ts DIR\n')
    process.exit(2)
  }
  const c = prepareContext(dir)
  process.stdout.write(`image context in ${c.dir}: ${c.tarball} installed in app/, node ${process.version}\n`)
}
