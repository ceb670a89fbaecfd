// (e) and (f) of npm run bench: components (WASI 0.2), on the same machine in the same run.
//
// (e) one host call: zerocopy.sendfile(count = 0) from the bench component (the WIT interface,
//     through jco's glue) against the same call from the core-module bench guest (the zerocopy
//     import). Goal: a component's call at most 1.5x a core module's.
// (f) one 256 MiB file-to-TCP transfer: the component with zerocopy.sendfile and with the
//     standard output-stream.blocking-splice on this host, the portable component's
//     blocking-splice on jco's preview2-shim (in a child process, into a connection it makes), the
//     core-module guest's sendfile, host-direct sendfile and C. Goal: the component's sendfile
//     within 3% of the core module's throughput.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, linkSync, mkdirSync, openSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadComponent, type Component } from '../host/component/load.js';
import * as libc from '../host/native/libc.js';
import { Sandbox } from '../host/index.js';
import { ROOT, median, pairedRatio, rounds, spread } from './common.js';
import type { Sink } from './sink.js';

const COMPONENT = join(ROOT, 'bench', 'component', 'bench_component.wasm');
const PORTABLE = join(ROOT, 'bench', 'component', 'bench_portable.wasm');

export interface ComponentBench {
  work: string;
  /** The core guest's per-call sample (section a's runner), for (e). */
  coreCalls: (calls: number) => number;
  /** The core guest's sendfile transfer, host-direct and C senders, for (f). */
  coreSend: (sink: Sink, file: string) => Promise<void>;
  hostSend: (sink: Sink, file: string) => Promise<void>;
  cSender: string | null;
}

/**
 * Runs the bench component on this host; stdout is `stdout` (a descriptor); returns its stderr.
 * `onFirstCall` runs at the component's first host call, after instantiation: the transfer
 * connects to the sink only then, so that (as for the core guest in (b)) setting up the
 * instance is not timed by a receiver that starts its clock at accept(2).
 */
function runComponent(c: Component, dir: string, args: string[], stdout: number, onFirstCall?: () => void): string {
  let err = '';
  let first = onFirstCall;
  const sandbox = new Sandbox({
    args: ['bench_component', ...args], preopens: { '/': dir }, stdin: null, stdout,
    stderr: { write: (b) => { err += Buffer.from(b).toString(); return b.length; } },
    ...(first ? { trace: () => { first?.(); first = undefined; } } : {}),
  });
  try {
    const status = sandbox.startComponent(c);
    if (status !== 0) throw new Error(`bench component ${args.join(' ')} exited ${status}: ${err}`);
    return err;
  } finally {
    sandbox.close();
  }
}

/** clock_gettime(2) CLOCK_THREAD_CPUTIME_ID: this thread's CPU time (uapi/linux/time.h). */
const CLOCK_THREAD_CPUTIME_ID = 3;
const ts = new BigInt64Array(2);
function threadCpuNs(): number {
  if (libc.clock_gettime(CLOCK_THREAD_CPUTIME_ID, new Uint8Array(ts.buffer)) < 0) throw new Error('clock_gettime failed');
  return Number(ts[0]) * 1e9 + Number(ts[1]);
}

/**
 * A run's ns per call twice: the wall time the guest measured around its loop, and this
 * thread's CPU time over the whole run (guest and host run in it; the run's setup, an
 * instantiation, is counted too, which only adds to a call's cost; V8's helper threads, which
 * do part of the garbage collection, are not). Under load the wall time also holds the time the
 * thread waited for a core; the CPU time does not.
 */
function perCall(n: number, run: () => number): { wall: number; cpu: number } {
  const t0 = threadCpuNs();
  const wall = run();
  return { wall, cpu: (threadCpuNs() - t0) / n };
}

export async function calls(o: ComponentBench, n: number, roundsN: number): Promise<void> {
  const c = await loadComponent(readFileSync(COMPONENT));
  const dir = join(o.work, 'component-calls');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'in'), 'x');
  const devnull = openSync('/dev/null', 'w');
  try {
    const r = await rounds(roundsN, {
      'core module (zerocopy import)': () => perCall(n, () => o.coreCalls(n)),
      'component (WIT, jco glue)': () => perCall(n, () => Number(runComponent(c, dir, ['calls', String(n)], devnull))),
    });
    const wall = (name: string) => r[name].map((x) => x.wall), cpu = (name: string) => r[name].map((x) => x.cpu);
    const CORE = 'core module (zerocopy import)', COMP = 'component (WIT, jco glue)';
    console.log(`(e) one host call, zerocopy.sendfile(count = 0): ${roundsN} rounds of ${n} calls`);
    console.log('| caller | ns/call (wall) | min-max | ratio to core module | ns/call (thread CPU) | ratio to core module |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const name of Object.keys(r)) {
      console.log(`| ${name} | ${median(wall(name)).toFixed(0)} | ${spread(wall(name), 1)} | ${pairedRatio(wall(name), wall(CORE)).toFixed(2)} | ` +
        `${median(cpu(name)).toFixed(0)} | ${pairedRatio(cpu(name), cpu(CORE)).toFixed(2)} |`);
    }
    const ratio = pairedRatio(wall(COMP), wall(CORE)), cpuRatio = pairedRatio(cpu(COMP), cpu(CORE));
    const verdict = (x: number) => (x <= 1.5 ? 'met' : 'not met');
    console.log(`goal: a component's host call <= 1.5x a core module's: ${ratio.toFixed(2)}x in wall time ` +
      `(${verdict(ratio)} in this run), ${cpuRatio.toFixed(2)}x in CPU time (${verdict(cpuRatio)})\n`);
  } finally {
    closeSync(devnull);
  }
}

/** The portable component transpiled for preview2-shim, and a runner that gives it `dir` as /. */
async function preview2Runner(work: string): Promise<string> {
  const jco = await import('@bytecodealliance/jco') as unknown as
    { transpile(b: Uint8Array, o: object): Promise<{ files: Record<string, Uint8Array> }> };
  const dir = join(work, 'preview2');
  mkdirSync(join(dir, 'interfaces'), { recursive: true });
  // The glue imports @bytecodealliance/preview2-shim: ES modules resolve it from node_modules
  // beside them (NODE_PATH does not apply to them).
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const { files } = await jco.transpile(readFileSync(PORTABLE), { name: 'bench' });
  for (const [name, bytes] of Object.entries(files)) if (!name.endsWith('.d.ts')) writeFileSync(join(dir, name), bytes);
  const runner = join(dir, 'run.mjs');
  // node run.mjs DIR ARGS...: DIR is the component's /, ARGS its arguments after its name
  // (preview2-shim would otherwise give it process.argv from the script on).
  writeFileSync(runner, `
import { _setPreopens } from '@bytecodealliance/preview2-shim/filesystem';
import { _setArgs } from '@bytecodealliance/preview2-shim/cli';
_setPreopens({ '/': process.argv[2] });
_setArgs(['bench_portable', ...process.argv.slice(3)]);
const { run } = await import('./bench.js');
run.run();
`);
  return runner;
}

export async function transfer(o: ComponentBench, sink: Sink, file: string, size: number, roundsN: number): Promise<void> {
  const c = await loadComponent(readFileSync(COMPONENT));
  const dir = join(o.work, 'component-transfer');
  mkdirSync(dir, { recursive: true });
  linkSync(file, join(dir, 'in')); // a hard link: a symlink out of the preopen is refused, as it should be
  const runner = await preview2Runner(o.work);
  const viaOurs = (mode: string) => async () => {
    // An unconnected socket now, connected at the first host call: the sandbox's duplicate of
    // it shares the socket, so it is the connected one the component writes to.
    const sock = libc.socket(2 /* AF_INET */, 1 /* SOCK_STREAM */ | 0o2000000 /* SOCK_CLOEXEC */, 0);
    if (sock < 0) throw new Error(`socket: errno ${-sock}`);
    const addr = Buffer.alloc(16);
    addr.writeUInt16LE(2, 0);
    addr.writeUInt16BE(sink.tcpPort, 2);
    addr.writeUInt32BE(0x7f000001, 4);
    try {
      runComponent(c, dir, [mode, String(size)], sock, () => {
        const r = libc.connect(sock, addr, 16);
        if (r < 0) throw new Error(`connect: errno ${-r}`);
      });
    } finally {
      libc.close(sock);
    }
  };
  const senders: Record<string, () => Promise<void>> = {
    'core module: zerocopy sendfile': () => o.coreSend(sink, file),
    'component: zerocopy.sendfile (WIT)': viaOurs('sendfile'),
    'component: blocking-splice (this host)': viaOurs('splice'),
    // preview2-shim's stdout is its I/O thread's process.stdout, whose writes only the main
    // thread forwards, and the main thread is blocked in the component's call: a splice to
    // stdout waits for a drain that never comes. So on preview2-shim the component makes the
    // connection to the sink itself (wasi:sockets) and splices into that.
    'component: blocking-splice (preview2-shim)': async () => {
      await new Promise<void>((resolve, reject) => {
        const p = spawn(process.execPath, [runner, dir, 'connect', String(size), String(sink.tcpPort)],
          { stdio: ['ignore', 'ignore', 'inherit'] });
        p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`preview2-shim run exited ${code}`))));
      });
    },
    'host-direct sendfile': () => o.hostSend(sink, file),
  };
  if (o.cSender) {
    const exe = o.cSender;
    senders['C sendfile'] = async () => { execFileSync(exe, [String(sink.tcpPort), file, String(size)]); };
  }
  const r = await rounds(roundsN, Object.fromEntries(Object.entries(senders).map(([name, send]) => [name, async () => {
    await send();
    const { bytes, ns } = await sink.result();
    if (bytes !== size) throw new Error(`${name}: the sink received ${bytes} bytes, not ${size}`);
    return ns;
  }])));
  const core = r['core module: zerocopy sendfile'];
  console.log(`(f) ${size >> 20} MiB file -> TCP over 127.0.0.1 from components, ${roundsN} rounds, byte count verified`);
  console.log('| sender | time (ms) | min-max (ms) | MiB/s | throughput vs core module |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [name, ns] of Object.entries(r)) {
    console.log(`| ${name} | ${(median(ns) / 1e6).toFixed(0)} | ${spread(ns, 1e6)} | ${((size / 1048576) / (median(ns) / 1e9)).toFixed(0)} | ` +
      `${(100 / pairedRatio(ns, core)).toFixed(1)}% |`);
  }
  const t = 1 / pairedRatio(r['component: zerocopy.sendfile (WIT)'], core);
  console.log(`goal: a component's sendfile within 3% of the core module's throughput: ${(t * 100).toFixed(1)}% ` +
    `(${t >= 0.97 ? 'met' : 'not met'} in this run)\n`);
}
