#!/usr/bin/env node
// wasm-zerocopy's command line: a thin shell over the Sandbox API. The commands live in
// host/cli/, one module each; host/cli/core.ts says how to add one.
import { commands } from './cli/commands.js';
import { main } from './cli/core.js';

process.exitCode = await main(commands, process.argv.slice(2));
