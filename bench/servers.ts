// (c) and (d) of npm run bench: the seed server (`wasm-zerocopy send-file`, the AssemblyScript
// guest) against the same server in C (bench/c/send_file.c), the same loop run by the host
// through koffi (bench/server_host.ts) and a Node `net` server piping fs.createReadStream
// (bench/server_node.ts). Each server is its own process, started once per section, logging
// one line per client to /dev/null; the client is bench/c/load.c, another process.
//
// (c) one 256 MiB transfer: time from connect(2) to EOF at the client, bytes checked.
// (d) connections per second on a 4 KiB file, each connection read to EOF and its byte count
//     checked; a round is a fixed window. Three tables: 64 clients at once; 4 clients (each
//     connection waits on the server's loop); and 64 clients while 1,000 or 10,000 idle
//     connections are held open (bench/c/load.c `hold`), where the C baseline that matters
//     is the one with epoll (bench/c/send_file_epoll.c), the best C does with many idle peers.
//     For (d) the servers linger an hour after the last byte, so held connections stay open.
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
  /** The compiled bench/c/send_file.c (poll) and bench/c/send_file_epoll.c. */
  cServer: string;
  cEpoll: string;
  /** The 256 MiB file (b) already wrote, page cache warm. */
  bigFile: string;
  bigSize: number;
  quick: boolean;
  /** Which of 'c' and 'd' to run. */
  sections: Set<string>;
}

const GUEST = 'seed server (guest)', HOST = 'host-direct (koffi)', EPOLL = 'C (epoll)', NODE = 'node net + createReadStream';

/** How to start each server on PORT serving FILE, lingering `linger` ms after the last byte. */
const servers: Record<string, (port: number, file: string, o: ServerBenchOptions, linger: number) => string[]> = {
  [GUEST]: (port, file, _, linger) => [process.execPath, join(ROOT, 'build/host/cli.js'), 'send-file',
    '--listen', `127.0.0.1:${port}`, '--linger', String(linger / 1000), file],
  C: (port, file, o, linger) => [o.cServer, String(port), file, String(linger)],
  [EPOLL]: (port, file, o, linger) => [o.cEpoll, String(port), file, String(linger)],
  [HOST]: (port, file, _, linger) => [process.execPath, join(ROOT, 'build/bench/server_host.js'), String(port), file, String(linger)],
  [NODE]: (port, file) => [process.execPath, join(ROOT, 'build/bench/server_node.js'), String(port), file],
};
/** The linger of (c), as send-file's default; (d) lingers an hour so that held connections stay. */
const LINGER_MS = 5000, HELD_LINGER_MS = 3_600_000;

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

/** Starts the named servers, each on its own port serving `file`; resolves once each has served it once. */
async function startAll(names: string[], file: string, size: number, o: ServerBenchOptions,
  linger: number): Promise<Record<string, Running>> {
  const started: Record<string, Running> = {};
  const devnull = openSync('/dev/null', 'w');
  try {
    for (const name of names) {
      const port = await freePort();
      const cmd = servers[name](port, file, o, linger);
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
  const started = await startAll([GUEST, 'C', HOST, NODE], o.bigFile, o.bigSize, o, LINGER_MS);
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

const SMALL = 4096, CLIENTS = 64, FEW = 4;

/** Rounds of `clients` clients against each started server; returns conn/s and CPU per connection. */
async function connectionRate(started: Record<string, Running>, o: ServerBenchOptions, clients: number): Promise<Samples> {
  const millis = o.quick ? 500 : 2000;
  const cases = Object.fromEntries(Object.entries(started).map(([name, r]) => [name, async (): Promise<Sample> => {
    if (r.exited) throw new Error(r.exited);
    const cpu0 = cpuNs(r);
    const { stdout } = await run(o.load, ['rate', String(r.port), String(clients), String(millis), String(SMALL)]);
    const cpu = cpuNs(r) - cpu0;
    const [completed, errors, ns, total] = stdout.trim().split(' ').map(Number);
    if (errors > 0) throw new Error(`${name}: ${errors} connections ended without exactly ${SMALL} bytes`);
    return { value: completed / (ns / 1e9), cpu: cpu / total };
  }]));
  return await rounds(o.quick ? 3 : 9, cases);
}

/**
 * `count` idle connections to the server on `port` (bench/c/load.c hold): resolves once they
 * are all open and served; the returned function closes them and waits for the holder to exit.
 */
async function hold(o: ServerBenchOptions, port: number, count: number): Promise<() => Promise<void>> {
  const proc = spawn(o.load, ['hold', String(port), String(count), String(SMALL)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const release = async (): Promise<void> => { proc.stdin!.end(); await exited; };
  const held = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 120_000);
    proc.stdout!.on('data', (d: Buffer) => { if (d.toString().startsWith('held')) { clearTimeout(timer); resolve(true); } });
    proc.on('exit', () => { clearTimeout(timer); resolve(false); });
  });
  if (!held) {
    proc.kill();
    await exited;
    throw new Error(`could not hold ${count} idle connections to port ${port} within 120 s`);
  }
  return release;
}

/** The soft RLIMIT_NOFILE the servers inherit (proc(5), /proc/self/limits). */
function openFileLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  const soft = line?.split(/\s+/)[3];
  return soft === 'unlimited' ? Infinity : Number(soft);
}

/** (d): the three tables. */
async function rates(o: ServerBenchOptions): Promise<void> {
  const file = join(o.work, 'small-4k');
  writeFileSync(file, Buffer.alloc(SMALL, 'x'));
  const started = await startAll([GUEST, 'C', EPOLL, HOST, NODE], file, SMALL, o, HELD_LINGER_MS);
  let many: Samples, few: Samples;
  try {
    many = await connectionRate(started, o, CLIENTS);
    reportRate(many, o, CLIENTS, 'at once');
    goal('connections per second', pairedRatio(values(many[GUEST]), values(many.C)), 0.9, 'C\'s');
    goal('server CPU per connection', pairedRatio(cpus(many[GUEST]), cpus(many.C)), 1.15, 'C\'s', true);
    few = await connectionRate(Object.fromEntries([GUEST, 'C', EPOLL, HOST].map((n) => [n, started[n]])), o, FEW);
    reportRate(few, o, FEW, 'each making one connection after another');
    goal('connections per second with few clients', pairedRatio(values(few[GUEST]), values(few.C)), 0.9, 'C\'s');
  } finally {
    stopAll(started);
  }
  const idle: Record<number, Samples> = { 0: many };
  for (const count of [1000, 10_000]) {
    if (openFileLimit() < count + 1000) {
      console.log(`(d) with ${count} idle connections: skipped: RLIMIT_NOFILE is ${openFileLimit()}, ` +
        `and a server needs ${count} descriptors and more (raise it with ulimit -n)`);
      continue;
    }
    const servers = await startAll([GUEST, 'C', EPOLL], file, SMALL, o, HELD_LINGER_MS);
    const releases: (() => Promise<void>)[] = [];
    try {
      for (const r of Object.values(servers)) releases.push(await hold(o, r.port, count));
      idle[count] = await connectionRate(servers, o, CLIENTS);
    } finally {
      await Promise.all(releases.map((release) => release()));
      stopAll(servers);
    }
  }
  reportIdle(idle, o);
}

/** Prints a goal line: `ratio` of the guest's to the baseline's, met when at least (or at most) `target`. */
function goal(what: string, ratio: number, target: number, of: string, atMost = false): void {
  const met = atMost ? ratio <= target : ratio >= target;
  const shown = (x: number): string => (atMost ? `${x.toFixed(2)}x` : `${(x * 100).toFixed(1)}%`);
  console.log(`goal: the seed server's ${what} ${atMost ? '<=' : '>='} ${shown(target)} ${of}: ${shown(ratio)} ` +
    `(${met ? 'met' : 'not met'} in this run)`);
}

/** Runs (c) and (d) and prints their tables. */
export async function serverBench(o: ServerBenchOptions): Promise<void> {
  if (o.sections.has('c')) {
    const c = await throughput(o);
    reportThroughput(c, o);
    goal('throughput', 1 / pairedRatio(values(c[GUEST]), values(c.C)), 0.97, 'C\'s');
    console.log('');
  }
  if (o.sections.has('d')) await rates(o);
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

function reportRate(d: Samples, o: ServerBenchOptions, clients: number, how: string): void {
  const millis = o.quick ? 500 : 2000;
  const dC = values(d.C), dH = values(d[HOST]);
  console.log(`\n(d) the seed server, connections per second: a ${SMALL >> 10} KiB file, ${clients} clients ${how}, ` +
    `${millis} ms windows, ${dC.length} rounds; every connection's bytes checked`);
  console.log('| server | conn/s | min-max | vs C | vs C (epoll) | vs host-direct | server CPU per connection (us) | CPU vs C |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const [name, xs] of Object.entries(d)) {
    const rate = values(xs);
    console.log(`| ${name} | ${median(rate).toFixed(0)} | ${spread(rate, 1)} | ` +
      `${(100 * pairedRatio(rate, dC)).toFixed(1)}% | ${(100 * pairedRatio(rate, values(d[EPOLL]))).toFixed(1)}% | ` +
      `${(100 * pairedRatio(rate, dH)).toFixed(1)}% | ` +
      `${(median(cpus(xs)) / 1e3).toFixed(1)} | ${pairedRatio(cpus(xs), cpus(d.C)).toFixed(2)} |`);
  }
}

function reportIdle(idle: Record<number, Samples>, o: ServerBenchOptions): void {
  console.log(`\n(d) with idle connections held open (bench/c/load.c hold), ${CLIENTS} clients at once, ` +
    `${o.quick ? 500 : 2000} ms windows; conn/s (server CPU per connection, us)`);
  console.log('| idle connections | seed server (guest) | C (poll) | C (epoll) | guest vs C (epoll) | guest CPU vs C (epoll) |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  const cell = (xs: Sample[]): string => `${median(values(xs)).toFixed(0)} (${(median(cpus(xs)) / 1e3).toFixed(1)})`;
  for (const [count, d] of Object.entries(idle)) {
    const ratio = pairedRatio(values(d[GUEST]), values(d[EPOLL]));
    console.log(`| ${count} | ${cell(d[GUEST])} | ${cell(d.C)} | ${cell(d[EPOLL])} | ${(100 * ratio).toFixed(1)}% | ` +
      `${pairedRatio(cpus(d[GUEST]), cpus(d[EPOLL])).toFixed(2)} |`);
  }
  const most = idle[10_000];
  if (most) goal('connections per second with 10,000 idle connections', pairedRatio(values(most[GUEST]), values(most[EPOLL])), 0.85, 'C (epoll)\'s');
  console.log('');
}
