#!/usr/bin/env node
// Entry point for the `l4lb` bin. In a git checkout (src/ beside bin/) it runs
// the TypeScript sources through Node's own type stripping, so development
// needs no build step. In the installed package (which ships bin/ and dist/,
// not src/) it runs the JavaScript that `npm pack` built into dist/: Node does
// not strip types from files under node_modules.
import { existsSync } from 'node:fs'
import { URL } from 'node:url'

const sources = new URL('../src/cli/main.ts', import.meta.url)
await import(existsSync(sources) ? sources.href : new URL('../dist/cli/main.js', import.meta.url).href)
