// The package version, read once from package.json (the same file in a
// checkout and in the installed package, where dist/ sits beside it).
import { createRequire } from 'node:module'

/** The package version, e.g. "0.1.0". */
export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version
