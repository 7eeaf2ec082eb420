// An npm project that depends on the packed l4lb tarball, with a lockfile
// derived from l4lb's own package-lock.json: the production entries only
// (dev ones dropped), so `npm ci --offline` installs exactly the versions the
// test suite ran against, from the npm cache that `npm ci` filled, without
// asking a registry for package metadata (`npm install --offline tarball`
// cannot: `npm ci` caches tarballs, not the metadata ranges resolve against).

interface LockEntry {
  readonly dev?: boolean
  readonly devOptional?: boolean
  readonly [key: string]: unknown
}

export interface Lockfile {
  readonly lockfileVersion: number
  readonly packages: Readonly<Record<string, LockEntry>>
}

export interface PackageJson {
  readonly name: string
  readonly version: string
  readonly license?: string
  readonly bin?: Readonly<Record<string, string>>
  readonly engines?: Readonly<Record<string, string>>
  readonly dependencies?: Readonly<Record<string, string>>
  readonly scripts?: Readonly<Record<string, string>>
}

/**
 * The package.json and package-lock.json (as objects) of an app at some folder
 * depending on `tarball` (a path relative to that folder, e.g.
 * "../l4lb-0.1.0.tgz"; `tarballAbs` is the same file's absolute path). The lock
 * entry says `hasInstallScript` when l4lb has an install script (without it
 * `npm ci` skips the script, so the native engine would not be built), and the
 * package.json approves that script in `allowScripts` in the form
 * `npm install-scripts approve` writes (npm 11 otherwise warns that it is not
 * covered). Throws if the project lock is not lockfileVersion 2 or 3 (the
 * `packages` map is needed).
 */
export function appProject(pkg: PackageJson, lock: Lockfile, tarball: string, tarballAbs: string): { packageJson: object; lockfile: object } {
  if (lock.lockfileVersion < 2) throw new Error(`package-lock.json lockfileVersion ${lock.lockfileVersion}: need 2 or 3`)
  const spec = `file:${tarball}`
  const packages: Record<string, unknown> = {
    '': { name: 'l4lb-install-test', dependencies: { [pkg.name]: spec } },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: spec,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
      ...(pkg.scripts?.install !== undefined ? { hasInstallScript: true } : {}),
    },
  }
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path.startsWith('node_modules/') && entry.dev !== true && entry.devOptional !== true) packages[path] = entry
  }
  return {
    packageJson: { name: 'l4lb-install-test', private: true, dependencies: { [pkg.name]: spec }, allowScripts: { [`file:${tarballAbs}`]: true } },
    lockfile: { name: 'l4lb-install-test', lockfileVersion: 3, requires: true, packages },
  }
}
