// The WASI 0.2 import object for one component instance, keyed as jco's instantiation-mode
// glue asks for them (interface names without versions). Every interface works on the
// sandbox's Context, so preview1 and 0.2 guests share the descriptor table, the path rules,
// the errno table and the zero-copy calls.
import type { Context } from '../sandbox/context.js';
import { cli } from './cli.js';
import { clocks } from './clocks.js';
import { filesystem } from './filesystem.js';
import { poll, Pollable } from './poll.js';
import { random } from './random.js';
import { ioInterfaces } from './streams.js';
import { exitComponent } from './host.js';
import { Resource, resourceClass } from './resources.js';
import { SocketHost, type SocketGrants } from './sockets.js';
import { zerocopyInterface } from './zerocopy.js';

export interface Wasi2Options {
  /** Addresses the guest may bind or connect to beyond the host's listeners (sockets.ts). */
  sockets?: SocketGrants;
}

export function wasi2Imports(ctx: Context, options: Wasi2Options = {}): Record<string, Record<string, unknown>> {
  return forGlue({
    ...cli(ctx),
    ...clocks(ctx),
    ...random(),
    ...ioInterfaces(),
    'wasi:io/poll': { Pollable, poll: (list: Pollable[]) => poll(ctx, list) },
    ...filesystem(ctx),
    ...new SocketHost(ctx, options.sockets).imports(),
    // What `componentize` redirects preview1's proc_exit to, so the status survives the adapter.
    'wasm-zerocopy:zerocopy/zerocopy': zerocopyInterface(ctx),
    'wasm-zerocopy:zerocopy/exit': { exitWithCode: (code: number) => exitComponent(ctx, code >>> 0) },
  });
}

/**
 * The imports as the glue is given them: each resource class as resourceClass's face for it,
 * from which the glue makes the stand-ins of handles it cannot find (they trap). jco names a
 * resource's class by the type's name in UpperCamelCase: `OutputStream` is output-stream.
 */
function forGlue(imports: Record<string, Record<string, unknown>>): Record<string, Record<string, unknown>> {
  for (const fns of Object.values(imports)) {
    for (const [key, value] of Object.entries(fns)) {
      if (typeof value !== 'function' || !(value.prototype instanceof Resource)) continue;
      const wit = key.replace(/[A-Z]/g, (c, at: number) => (at > 0 ? '-' : '') + c.toLowerCase());
      fns[key] = resourceClass(value as abstract new (...a: never[]) => Resource, wit);
    }
  }
  return imports;
}
