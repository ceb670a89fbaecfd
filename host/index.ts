// wasm-zerocopy's public API.
export { Sandbox, type SandboxOptions, type Stdio, type VirtualFile } from './runtime.js';
export { errno, errnoName } from './sandbox/errno.js';
export { ZEROCOPY_ABI_VERSION } from './zerocopy/imports.js';
export { run, TRAP_STATUS, type RunOptions, type Running, type WorkerResult } from './workers.js';
export { parseListen, boundPort } from './listen.js';
export { proxy, type ProxyOptions } from './proxy.js';
export { startServer, type ServeOptions, type Server } from './serve.js';
export { loadComponent, type Component, type LoadOptions } from './component/load.js';
export { componentize, ComponentizeError, type ComponentizeOptions } from './component/componentize.js';
export { wasmKind, type WasmKind } from './component/format.js';
export type { SocketGrants } from './wasi2/sockets.js';
