// world wasm-zerocopy:zerocopy/guest@0.1.0
import type * as WasiClocksWallClock from './interfaces/wasi-clocks-wall-clock.js'; // wasi:clocks/wall-clock@0.2.3
import type * as WasiFilesystemTypes from './interfaces/wasi-filesystem-types.js'; // wasi:filesystem/types@0.2.3
import type * as WasiIoError from './interfaces/wasi-io-error.js'; // wasi:io/error@0.2.3
import type * as WasiIoPoll from './interfaces/wasi-io-poll.js'; // wasi:io/poll@0.2.3
import type * as WasiIoStreams from './interfaces/wasi-io-streams.js'; // wasi:io/streams@0.2.3
import type * as WasiSocketsNetwork from './interfaces/wasi-sockets-network.js'; // wasi:sockets/network@0.2.3
import type * as WasiSocketsTcp from './interfaces/wasi-sockets-tcp.js'; // wasi:sockets/tcp@0.2.3
import type * as WasmZerocopyZerocopyZerocopy from './interfaces/wasm-zerocopy-zerocopy-zerocopy.js'; // wasm-zerocopy:zerocopy/zerocopy@0.1.0
export interface ImportObject {
  'wasi:clocks/wall-clock@0.2.3': typeof WasiClocksWallClock,
  'wasi:filesystem/types@0.2.3': typeof WasiFilesystemTypes,
  'wasi:io/error@0.2.3': typeof WasiIoError,
  'wasi:io/poll@0.2.3': typeof WasiIoPoll,
  'wasi:io/streams@0.2.3': typeof WasiIoStreams,
  'wasi:sockets/network@0.2.3': typeof WasiSocketsNetwork,
  'wasi:sockets/tcp@0.2.3': typeof WasiSocketsTcp,
  'wasm-zerocopy:zerocopy/zerocopy@0.1.0': typeof WasmZerocopyZerocopyZerocopy,
}
export interface Guest {
}

/**
* Instantiates this component with the provided imports and
* returns a map of all the exports of the component.
*
* This function is intended to be similar to the
* `WebAssembly.Instantiate` constructor. The second `imports`
* argument is the "import object" for wasm, except here it
* uses component-model-layer types instead of core wasm
* integers/numbers/etc.
*
* The first argument to this function, `getCoreModule`, is
* used to compile core wasm modules within the component.
* Components are composed of core wasm modules and this callback
* will be invoked per core wasm module. The caller of this
* function is responsible for reading the core wasm module
* identified by `path` and returning its compiled
* `WebAssembly.Module` object. This would use the
* `WebAssembly.Module` constructor on the web, for example.
*/
export function instantiate(
getCoreModule: (path: string) => WebAssembly.Module,
imports: ImportObject,
instantiateCore?: (module: WebAssembly.Module, imports: Record<string, any>) => WebAssembly.Instance
): Guest;

