// (g) of npm run bench: the zero-copy proxy guest (`wasm-zerocopy proxy`) against HAProxy with
// splice (Debian's haproxy, when installed), the guest's own splice loop written in C
// (bench/c/proxy_splice.c: what the design reaches without the runtime), a Node `net` pipe
// proxy (bench/proxy_node.ts), and no proxy at all. Each proxy is its own process, one thread
// each (HAProxy nbthread 1, one guest worker); the upstream is the C seed server
// (bench/c/send_file.c), the client bench/c/load.c, each another process.
//
// (g1) one 1 GiB stream per round, upstream -> proxy -> client: time from connect(2) to EOF at
//      the client, which splices it to /dev/null; bytes counted.
// (g2) connections per second for 4 KiB exchanges, 64 clients at once: each connection sends
//      4 KiB and half-closes, the upstream answers 4 KiB and closes; every answer is counted.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, median, pairedRatio, rounds, spread } from './common.js';
import { cpuNs, freePort } from './servers.js';

const run = promisify(execFile);
const GiB = 1 << 30, SMALL = 4096, CLIENTS = 64;
const GUEST = 'guest proxy (splice)', C_LOOP = 'the same loop in C', HAPROXY = 'HAProxy 1 thread, splice';
const NODE = 'node net pipe', DIRECT = 'direct, no proxy';

export interface ProxyBenchOptions {
  work: string;
  /** The compiled bench/c/load.c, bench/c/send_file.c and bench/c/proxy_splice.c. */
  load: string;
  cServer: string;
  cProxy: string;
  quick: boolean;
}

interface Proc { proc: ReturnType<typeof spawn>; exited: string | null }
interface Target { port: number; proc: Proc | null }

function start(name: string, argv: string[], procs: Proc[], logFile = '/dev/null'): Proc {
  const out = openSync(logFile, 'w');
  try {
    const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', out, 'inherit'] });
    const p: Proc = { proc, exited: null };
    proc.on('exit', (code, signal) => { p.exited = `${name} exited (${signal ?? code})`; });
    procs.push(p);
    return p;
  } finally {
    closeSync(out);
  }
}

/** How the guest's connections ended, from its log: "closed x9120, upstream addrnotavail x3". */
function endings(logFile: string): string {
  const counts = new Map<string, number>();
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    const m = /^client #\d+ \S+ -> \S+: ([^,]+),/.exec(line);
    if (m) counts.set(m[1], (counts.get(m[1]) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${k} x${n}`).join(', ');
}

/** HAProxy's version line, or null when it is not installed. */
function haproxyVersion(): string | null {
  const r = spawnSync('haproxy', ['-v'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0] : null;
}

/** A tcp-mode HAProxy that splices both ways (option splice-request/-response), one thread. */
function haproxyConfig(work: string, port: number, upstream: number): string {
  const file = join(work, `haproxy-${port}.cfg`);
  // maxconn sized for the descriptor limit (HAProxy wants about two per connection, and
  // refuses to start if it cannot raise its limit that far).
  writeFileSync(file, `global
  maxconn 4096
  nbthread 1
defaults
  mode tcp
  timeout connect 10s
  timeout client 300s
  timeout server 300s
  option splice-request
  option splice-response
listen proxy
  bind 127.0.0.1:${port}
  server upstream 127.0.0.1:${upstream}
`);
  return file;
}

/** Starts the proxies in front of `upstream`; resolves once each has passed one exchange. */
async function proxies(o: ProxyBenchOptions, upstream: number, check: string[], withHaproxy: boolean, procs: Proc[],
  guestLog: string): Promise<Record<string, Target>> {
  const t: Record<string, Target> = {};
  let port = await freePort();
  t[GUEST] = { port, proc: start(GUEST, [process.execPath, join(ROOT, 'build/host/cli.js'), 'proxy',
    '--listen', `127.0.0.1:${port}`, '--to', `127.0.0.1:${upstream}`], procs, guestLog) };
  port = await freePort();
  t[C_LOOP] = { port, proc: start(C_LOOP, [o.cProxy, String(port), String(upstream)], procs) };
  if (withHaproxy) {
    port = await freePort();
    t[HAPROXY] = { port, proc: start(HAPROXY, ['haproxy', '-q', '-db', '-f', haproxyConfig(o.work, port, upstream)], procs) };
  }
  port = await freePort();
  t[NODE] = { port, proc: start(NODE, [process.execPath, join(ROOT, 'build/bench/proxy_node.js'), String(port), String(upstream)], procs) };
  t[DIRECT] = { port: upstream, proc: null };
  for (const [name, target] of Object.entries(t)) {
    for (let tries = 0; ; tries++) {
      if (target.proc?.exited) throw new Error(target.proc.exited);
      const ok = await run(o.load, check.map((a) => (a === 'PORT' ? String(target.port) : a))).catch(() => null);
      if (ok) break;
      if (tries > 100) throw new Error(`${name} did not relay within 10 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return t;
}

interface Sample { value: number; cpu: number }
const values = (xs: Sample[]): number[] => xs.map((x) => x.value);
const cpus = (xs: Sample[]): number[] => xs.map((x) => x.cpu);

/** Runs (g1) and (g2) and prints their tables and the issue's goals. */
export async function proxyBench(o: ProxyBenchOptions): Promise<void> {
  const hv = haproxyVersion();
  const procs: Proc[] = [];
  const stop = () => { for (const p of procs) if (!p.exited) p.proc.kill('SIGTERM'); };
  try {
    // The upstreams: the C seed server, sending a 1 GiB file (page cache warm: just written)
    // and a 4 KiB one.
    const big = join(o.work, 'proxy-1g'), small = join(o.work, 'proxy-4k');
    const chunk = Buffer.alloc(1 << 20);
    for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 131) & 0xff;
    const fd = openSync(big, 'w');
    for (let i = 0; i < GiB / chunk.length; i++) writeSync(fd, chunk);
    closeSync(fd);
    writeFileSync(small, Buffer.alloc(SMALL, 'x'));
    const upBig = await freePort(), upSmall = await freePort();
    start('upstream (1 GiB)', [o.cServer, String(upBig), big], procs);
    start('upstream (4 KiB)', [o.cServer, String(upSmall), small], procs);
    console.log(`(g) proxies, one thread each, between a C upstream (bench/c/send_file.c) and a C client; ` +
      (hv ? hv : 'HAProxy: not installed here (Debian: apt-get install haproxy), so its rows and goals are skipped'));

    // (g1) one 1 GiB stream
    const streamTargets = await proxies(o, upBig, ['once', 'PORT', String(GiB)], hv !== null, procs, join(o.work, 'guest-g1.log'));
    const g1 = await rounds(o.quick ? 3 : 9, Object.fromEntries(Object.entries(streamTargets).map(([name, t]) => [name, async (): Promise<Sample> => {
      if (t.proc?.exited) throw new Error(t.proc.exited);
      const cpu0 = t.proc ? cpuNs(t.proc) : 0;
      const { stdout } = await run(o.load, ['once', String(t.port), String(GiB)]);
      const cpu = t.proc ? cpuNs(t.proc) - cpu0 : 0;
      const [bytes, ns] = stdout.trim().split(' ').map(Number);
      if (bytes !== GiB) throw new Error(`${name}: the client received ${bytes} bytes, not ${GiB}`);
      return { value: ns, cpu };
    }])));
    reportStream(g1, hv !== null);

    // (g2) 4 KiB exchanges
    const millis = o.quick ? 500 : 2000;
    const guestLog = join(o.work, 'guest-g2.log');
    // (`load rate` exits 0 whatever it counted: `once` is the readiness check that can fail.)
    const rateTargets = await proxies(o, upSmall, ['once', 'PORT', String(SMALL)], hv !== null, procs, guestLog);
    const g2 = await rounds(o.quick ? 3 : 9, Object.fromEntries(Object.entries(rateTargets).map(([name, t]) => [name, async (): Promise<Sample> => {
      if (t.proc?.exited) throw new Error(t.proc.exited);
      const cpu0 = t.proc ? cpuNs(t.proc) : 0;
      const { stdout } = await run(o.load, ['rate', String(t.port), String(CLIENTS), String(millis), String(SMALL), String(SMALL)]);
      const cpu = t.proc ? cpuNs(t.proc) - cpu0 : 0;
      const [completed, errors, ns, total] = stdout.trim().split(' ').map(Number);
      if (errors > 0) {
        throw new Error(`${name}: ${errors} exchanges did not get exactly ${SMALL} bytes back` +
          (name === GUEST ? ` (the guest's log: ${endings(guestLog)})` : ''));
      }
      return { value: completed / (ns / 1e9), cpu: cpu / total };
    }])));
    reportRate(g2, millis, hv !== null);
    console.log(`the guest's connections in (g2), by how they ended: ${endings(guestLog)}\n`);
  } finally {
    stop();
  }
}

function reportStream(g1: Record<string, Sample[]>, haproxy: boolean): void {
  const direct = values(g1[DIRECT]);
  console.log(`(g1) one 1 GiB stream per round through each proxy, ${direct.length} rounds; client: splice(2) to /dev/null, bytes counted`);
  console.log('| path | time (ms) | min-max (ms) | GB/s | vs direct | vs HAProxy | proxy CPU (ms) |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const [name, xs] of Object.entries(g1)) {
    const ns = values(xs);
    console.log(`| ${name} | ${(median(ns) / 1e6).toFixed(0)} | ${spread(ns, 1e6)} | ${(GiB / median(ns)).toFixed(2)} | ` +
      `${(100 / pairedRatio(ns, direct)).toFixed(1)}% | ${haproxy ? `${(100 / pairedRatio(ns, values(g1[HAPROXY]))).toFixed(1)}%` : '-'} | ` +
      `${name === DIRECT ? '-' : (median(cpus(xs)) / 1e6).toFixed(0)} |`);
  }
  // What each proxy spends per GiB relayed, beside its speed: on a machine whose cores the
  // sender and the client share with the proxy, the throughput ratios are bounded by theirs too.
  const cpuPerGiB = (name: string): string => `${name} ${(median(cpus(g1[name])) / 1e6).toFixed(0)} ms`;
  const cpuRatio = median(cpus(g1[NODE])) / median(cpus(g1[GUEST]));
  console.log(`CPU per GiB relayed (the proxy's process): ${[GUEST, C_LOOP, ...(haproxy ? [HAPROXY] : []), NODE].map(cpuPerGiB).join(', ')}; ` +
    `the Node proxy spends ${cpuRatio.toFixed(1)}x the guest's CPU per byte`);
  const guest = values(g1[GUEST]);
  const vsNode = 1 / pairedRatio(guest, values(g1[NODE]));
  // The C loop's own ratio to Node says what the design reaches on this machine, with no
  // runtime in the way: where it misses a goal too, the machine (the cores the proxy shares
  // with the sender and the client) is what bounds it.
  const cVsNode = 1 / pairedRatio(values(g1[C_LOOP]), values(g1[NODE]));
  const vsC = 1 / pairedRatio(guest, values(g1[C_LOOP]));
  console.log(`the guest relays at ${(vsC * 100).toFixed(1)}% of the same loop in C; the C loop at ${cVsNode.toFixed(2)}x the Node proxy`);
  console.log(`goal: the guest's stream throughput >= 3x the Node proxy's: ${vsNode.toFixed(2)}x (${vsNode >= 3 ? 'met' : 'not met'} in this run)`);
  if (haproxy) {
    const vsH = 1 / pairedRatio(guest, values(g1[HAPROXY]));
    console.log(`goal: the guest's stream throughput >= HAProxy's: ${(vsH * 100).toFixed(1)}% (${vsH >= 1 ? 'met' : 'not met'} in this run)`);
  } else {
    console.log('goal: the guest\'s stream throughput >= HAProxy\'s: not measured (no haproxy)');
  }
  console.log('');
}

function reportRate(g2: Record<string, Sample[]>, millis: number, haproxy: boolean): void {
  const direct = values(g2[DIRECT]);
  console.log(`(g2) connections per second, 4 KiB each way per connection, ${CLIENTS} clients at once, ${millis} ms windows, ` +
    `${direct.length} rounds; every answer's byte count checked`);
  console.log('| path | conn/s | min-max | vs direct | vs HAProxy | proxy CPU per connection (us) |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [name, xs] of Object.entries(g2)) {
    const rate = values(xs);
    console.log(`| ${name} | ${median(rate).toFixed(0)} | ${spread(rate, 1)} | ${(100 * pairedRatio(rate, direct)).toFixed(1)}% | ` +
      `${haproxy ? `${(100 * pairedRatio(rate, values(g2[HAPROXY]))).toFixed(1)}%` : '-'} | ` +
      `${name === DIRECT ? '-' : (median(cpus(xs)) / 1e3).toFixed(1)} |`);
  }
  console.log(`the guest's conn/s: ${(100 * pairedRatio(values(g2[GUEST]), values(g2[C_LOOP]))).toFixed(1)}% of the same loop in C`);
  if (haproxy) {
    const r = pairedRatio(values(g2[GUEST]), values(g2[HAPROXY]));
    console.log(`goal: the guest's conn/s >= 85% of HAProxy's: ${(r * 100).toFixed(1)}% (${r >= 0.85 ? 'met' : 'not met'} in this run)`);
  } else {
    console.log('goal: the guest\'s conn/s >= 85% of HAProxy\'s: not measured (no haproxy)');
  }
  console.log('');
}
