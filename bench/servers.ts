// (c) and (d) of npm run bench: the seed server (`wasm-zerocopy send-file`, the AssemblyScript
// guest) against the same server in C (bench/c/send_file.c), the same loop run by the host
// through koffi (bench/server_host.ts) and a Node `net` server piping fs.createReadStream
// (bench/server_node.ts). Each server is its own process, started once per section, logging
// one line per client to /dev/null; the client is bench/c/load.c, another process.
//
// (c) one 256 MiB transfer: time from connect(2) to EOF at the client, bytes checked.
// (d) connections per second on a 4 KiB file with 64 clients at once, each connection read
//     to EOF and its byte count checked; a round is a fixed window.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, median, pairedRatio, rounds, spread } from './common.js';

const run = promisify(execFile);

export interface ServerBenchOptions {
  /** Scratch directory for the files served. */
  work: string;
  /** The compiled bench/c/load.c. */
  load: string;
  /** The compiled bench/c/send_file.c. */
  cServer: string;
  /** The 256 MiB file (b) already wrote, page cache warm. */
  bigFile: string;
  bigSize: number;
  quick: boolean;
  /** Which of 'c' and 'd' to run. */
  sections: Set<string>;
}

const GUEST = 'seed server (guest)', HOST = 'host-direct (koffi)';

/** How to start each server on PORT serving FILE. */
const servers: Record<string, (port: number, file: string, c: string) => string[]> = {
  [GUEST]: (port, file) =>
    [process.execPath, join(ROOT, 'build/host/cli.js'), 'send-file', '--listen', `127.0.0.1:${port}`, file],
  C: (port, file, c) => [c, String(port), file],
  [HOST]: (port, file) => [process.execPath, join(ROOT, 'build/bench/server_host.js'), String(port), file],
  'node net + createReadStream': (port, file) => [process.execPath, join(ROOT, 'build/bench/server_node.js'), String(port), file],
};

/** A port free right now: bound to 0 and released (nothing else runs on this loopback). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    }).on('error', reject);
  });
}

interface Running { proc: ChildProcess; port: number; exited: string | null }

/**
 * CPU time a server has used so far, in ns: the first field of /proc/PID/task/TID/schedstat
 * (time on a CPU, proc(5)) summed over its threads, so the guest's worker thread counts. The
 * servers' threads live as long as they do, so a difference of two readings is exact.
 */
export function cpuNs(r: { proc: ChildProcess }): number {
  const dir = `/proc/${r.proc.pid}/task`;
  let ns = 0;
  for (const tid of readdirSync(dir)) {
    try {
      ns += Number(readFileSync(`${dir}/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // a thread that ended between the listing and the read
    }
  }
  return ns;
}

/** One sample: what the client measured, and the server's CPU time per unit of work. */
interface Sample { value: number; cpu: number }

/** Starts every server on its own port serving `file`; resolves once each has served it once. */
async function startAll(file: string, size: number, o: ServerBenchOptions): Promise<Record<string, Running>> {
  const started: Record<string, Running> = {};
  const devnull = openSync('/dev/null', 'w');
  try {
    for (const [name, argv] of Object.entries(servers)) {
      const port = await freePort();
      const cmd = argv(port, file, o.cServer);
      const proc = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', devnull, 'inherit'] });
      const r: Running = { proc, port, exited: null };
      proc.on('exit', (code, signal) => { r.exited = `${name} exited (${signal ?? code})`; });
      started[name] = r;
    }
  } finally {
    closeSync(devnull);
  }
  try {
    for (const [name, r] of Object.entries(started)) {
      for (let tries = 0; ; tries++) {
        if (r.exited) throw new Error(r.exited);
        const res = await run(o.load, ['once', String(r.port), String(size)]).catch(() => null);
        if (res) break;
        if (tries > 100) throw new Error(`${name} did not serve ${file} within 10 s`);
        await new Promise((ok) => setTimeout(ok, 100));
      }
    }
  } catch (e) {
    stopAll(started);
    throw e;
  }
  return started;
}

function stopAll(started: Record<string, Running>): void {
  for (const r of Object.values(started)) if (!r.exited) r.proc.kill('SIGTERM');
}

type Samples = Record<string, Sample[]>;

const values = (xs: Sample[]): number[] => xs.map((x) => x.value);
const cpus = (xs: Sample[]): number[] => xs.map((x) => x.cpu);

async function throughput(o: ServerBenchOptions): Promise<Samples> {
  const started = await startAll(o.bigFile, o.bigSize, o);
  try {
    const cases = Object.fromEntries(Object.entries(started).map(([name, r]) => [name, async (): Promise<Sample> => {
      if (r.exited) throw new Error(r.exited);
      const cpu0 = cpuNs(r);
      const { stdout } = await run(o.load, ['once', String(r.port), String(o.bigSize)]);
      const cpu = cpuNs(r) - cpu0;
      const [bytes, ns] = stdout.trim().split(' ').map(Number);
      if (bytes !== o.bigSize) throw new Error(`${name}: the client received ${bytes} bytes, not ${o.bigSize}`);
      return { value: ns, cpu };
    }]));
    // A transfer is ~45 ms, +-15 ms from round to round on a shared machine: many rounds.
    return await rounds(o.quick ? 3 : 61, cases);
  } finally {
    stopAll(started);
  }
}

const SMALL = 4096, CLIENTS = 64;

async function connectionRate(o: ServerBenchOptions, millis: number): Promise<Samples> {
  const file = join(o.work, 'small-4k');
  writeFileSync(file, Buffer.alloc(SMALL, 'x'));
  const started = await startAll(file, SMALL, o);
  try {
    const cases = Object.fromEntries(Object.entries(started).map(([name, r]) => [name, async (): Promise<Sample> => {
      if (r.exited) throw new Error(r.exited);
      const cpu0 = cpuNs(r);
      const { stdout } = await run(o.load, ['rate', String(r.port), String(CLIENTS), String(millis), String(SMALL)]);
      const cpu = cpuNs(r) - cpu0;
      const [completed, errors, ns, total] = stdout.trim().split(' ').map(Number);
      if (errors > 0) throw new Error(`${name}: ${errors} connections ended without exactly ${SMALL} bytes`);
      return { value: completed / (ns / 1e9), cpu: cpu / total };
    }]));
    return await rounds(o.quick ? 3 : 9, cases);
  } finally {
    stopAll(started);
  }
}

/** Runs (c) and (d) and prints their tables. */
export async function serverBench(o: ServerBenchOptions): Promise<void> {
  if (o.sections.has('c')) {
    const c = await throughput(o);
    reportThroughput(c, o);
    const tp = 1 / pairedRatio(values(c[GUEST]), values(c.C));
    console.log(`goal: the seed server's throughput >= 97% of C's: ${(tp * 100).toFixed(1)}% ` +
      `(${tp >= 0.97 ? 'met' : 'not met'} in this run)\n`);
  }
  if (o.sections.has('d')) {
    const d = await connectionRate(o, o.quick ? 500 : 2000);
    reportRate(d, o);
    const cps = pairedRatio(values(d[GUEST]), values(d.C));
    console.log(`goal: the seed server's connections per second >= 85% of C's: ${(cps * 100).toFixed(1)}% ` +
      `(${cps >= 0.85 ? 'met' : 'not met'} in this run)\n`);
  }
}

function reportThroughput(c: Samples, o: ServerBenchOptions): void {
  const cBase = values(c.C), hBase = values(c[HOST]);
  console.log(`(c) the seed server, one ${o.bigSize >> 20} MiB transfer over 127.0.0.1 per round, ` +
    `${cBase.length} rounds; client: C, splice(2) to /dev/null, bytes checked`);
  console.log('| server | time (ms) | min-max (ms) | MiB/s | throughput vs C | vs host-direct | server CPU (ms) |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const [name, xs] of Object.entries(c)) {
    const ns = values(xs);
    const mibs = (o.bigSize / 1048576) / (median(ns) / 1e9);
    console.log(`| ${name} | ${(median(ns) / 1e6).toFixed(0)} | ${spread(ns, 1e6)} | ${mibs.toFixed(0)} | ` +
      `${(100 / pairedRatio(ns, cBase)).toFixed(1)}% | ${(100 / pairedRatio(ns, hBase)).toFixed(1)}% | ` +
      `${(median(cpus(xs)) / 1e6).toFixed(1)} |`);
  }
}

function reportRate(d: Samples, o: ServerBenchOptions): void {
  const millis = o.quick ? 500 : 2000;
  const dC = values(d.C), dH = values(d[HOST]);
  console.log(`(d) the seed server, connections per second: a ${SMALL >> 10} KiB file, ${CLIENTS} clients at once, ` +
    `${millis} ms windows, ${dC.length} rounds; every connection's bytes checked`);
  console.log('| server | conn/s | min-max | vs C | vs host-direct | server CPU per connection (us) | CPU vs C |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const [name, xs] of Object.entries(d)) {
    const rate = values(xs);
    console.log(`| ${name} | ${median(rate).toFixed(0)} | ${spread(rate, 1)} | ` +
      `${(100 * pairedRatio(rate, dC)).toFixed(1)}% | ${(100 * pairedRatio(rate, dH)).toFixed(1)}% | ` +
      `${(median(cpus(xs)) / 1e3).toFixed(1)} | ${pairedRatio(cpus(xs), cpus(d.C)).toFixed(2)} |`);
  }
}
