// Every command of the command line, in the order `wasm-zerocopy --help` lists them. A new
// command is one module beside this one (see core.ts) and one line here.
import type { Command } from './core.js';
import { componentizeCommand } from './componentize.js';
import { runCommand } from './run.js';
import { sendFileCommand } from './send_file.js';
import { proxyCommand } from './proxy.js';
import { serveCommandSpec } from './serve.js';

export const commands: readonly Command[] = [serveCommandSpec, runCommand, sendFileCommand, proxyCommand, componentizeCommand];
