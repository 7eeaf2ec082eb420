#!/usr/bin/env node
// Entry point for the `l4lb` bin: the sources are TypeScript run by Node's
// own type stripping (Node >= 24), so this only hands over to the CLI.
import '../src/cli/main.ts'
