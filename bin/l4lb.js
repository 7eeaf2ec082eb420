#!/usr/bin/env node
// Entry point for the `l4lb` bin. In a git checkout (src/ beside bin/) it runs
// the TypeScript sources through Node's own type stripping, so development
// needs no build step. In the installed package (which ships bin/ and dist/,
// not src/) it runs the JavaScript that `npm pack` built into dist/: Node does
// not strip types from files under node_modules.
import { existsSync } from 'node:fs'
import process from 'node:process'
import { URL } from 'node:url'
import { nodeVersionProblem } from './node-version.js'

const tooOld = nodeVersionProblem(process.version)
if (tooOld !== null) {
  process.stderr.write(`${tooOld}\n`)
  process.exit(1)
}

const sources = new URL('../src/cli/main.ts', import.meta.url)
await import(existsSync(sources) ? sources.href : new URL('../dist/cli/main.js', import.meta.url).href)
