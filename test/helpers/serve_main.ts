// `node serve_main.js OPTIONS_JSON`: host/serve.ts's serveCommand in a process of its own, for
// tests that need one (a descriptor limit, sockets passed by a systemd-like parent). Until
// the CLI has its serve subcommand, this is what `wasm-zerocopy serve` runs.
import { serveCommand } from '../../host/serve.js';

process.exitCode = await serveCommand(JSON.parse(process.argv[2]));
