// The Node.js l4lb needs, checked before anything else is loaded: on an older
// Node the workers fail in ways that say nothing about the cause (the demo
// hung with no error on Node 20).

import process from 'node:process'

/** The lowest major version of Node.js l4lb runs on (package.json "engines"). */
export const MIN_NODE_MAJOR = 24

/**
 * `version` is a Node version string such as "v20.20.2" (process.version).
 * Returns null when it is new enough, else the message to print.
 */
export function nodeVersionProblem(version) {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1] ?? NaN)
  if (major >= MIN_NODE_MAJOR) return null
  return `l4lb needs Node.js ${MIN_NODE_MAJOR} or later; this is Node.js ${version} (${process.execPath}). ` +
    'In a checkout, npm ci brings Node 24: run l4lb through npm or npx; installed, put Node 24 first on PATH.'
}
