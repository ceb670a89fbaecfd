// (h) of npm run bench: `wasm-zerocopy serve` against nginx, Bun and a Node static server
// (sirv), as HTTP servers of a folder: keep-alive load on 4 KiB, 64 KiB and 1 MiB files with 16
// and 256 connections, and one 1 GiB download. Requests per second, MiB/s of body, and the
// server's CPU time per request, read from /proc over all its threads and processes.
//
// Every server runs with the same number of workers (1 unless --http-workers=N), access log
// off, files sent with sendfile where it can (nginx: sendfile on, tcp_nopush on). nginx and
// Bun are optional: each is looked for and skipped with a line saying so. The load comes from
// wrk when it is installed (-t1), else from bench/c/http_load.c; the 1 GiB download is always
// http_load, which drains it with splice(2) and checks its length.
//
// As elsewhere in the bench: every server runs once per round in rotating order, values are
// medians over rounds, ratios medians of per-round ratios (bench/common.ts). The 1 GiB
// download gets more rounds than the keep-alive windows: one download is a single stream of
// about a second, which other processes on a shared machine slow by 2x or more from one
// round to the next (measured: 0.7 to 1.3 s for nginx in one run), so five rounds cannot
// tell servers 10% apart.
//
// --http-cases=64k:16,1g runs some cases (FILE:CONNECTIONS, or 1g); --http-rounds=N sets the
// rounds of every case, for looking at one case closely.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, compileC, median, pairedRatio, rounds, spread } from './common.js';

const run = promisify(execFile);

export interface HttpBenchOptions { work: string; quick: boolean }
interface Options extends HttpBenchOptions { workers: number; cases: Set<string> | null; rounds: number | null }

const FILES = [['f4k', 4096], ['f64k', 65536], ['f1m', 1 << 20]] as const;
const CONNECTIONS = [16, 256];
const BIG = 1 << 30;
/** Rounds of the 1 GiB download (see the top of this file), and of each keep-alive case. */
const BIG_ROUNDS = 15, ROUNDS = 5;
const SERVE = 'wasm-zerocopy serve', NGINX = 'nginx', BUN = 'Bun (Bun.serve + Bun.file)', NODE = 'Node + sirv';
/** The issue's goals, as ratios of serve to each in the same run. */
const GOALS = { rps: 0.9, throughput: 0.95, bun: 2, node: 5 };

/** A program on PATH or at one of `paths`, else null. */
function find(name: string, paths: string[] = []): string | null {
  for (const p of [...(process.env.PATH ?? '').split(':').map((d) => join(d, name)), ...paths]) if (existsSync(p)) return p;
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    }).on('error', reject);
  });
}

/** CPU time (ns) of a process, its threads and its children's, from /proc/PID/task/TID/schedstat (proc(5)). */
function cpuTree(pid: number): number {
  let ns = 0;
  let tasks: string[] = [];
  try { tasks = readdirSync(`/proc/${pid}/task`); } catch { return 0; }
  for (const tid of tasks) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      for (const child of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(' ').filter(Boolean)) ns += cpuTree(Number(child));
    } catch {
      // a thread or child that ended between the listing and the read
    }
  }
  return ns;
}

interface Server { name: string; proc: ChildProcess; port: number; exited: string | null }

/** How to start each server; null (with the reason) for one that is not installed. */
function commands(o: Options, root: string): Record<string, ((port: number) => string[]) | string> {
  const nginx = find('nginx', ['/usr/sbin/nginx']);
  const bun = process.env.BUN ?? find('bun', [join(ROOT, 'node_modules/@oven/bun-linux-x64/bin/bun'), join(ROOT, 'node_modules/@oven/bun-linux-x64-baseline/bin/bun')]);
  const bunScript = join(o.work, 'bun-server.js');
  writeFileSync(bunScript, [
    'const [port, dir] = process.argv.slice(2);',
    'Bun.serve({ port: Number(port), hostname: "127.0.0.1", reusePort: true, async fetch(req) {',
    '  const file = Bun.file(dir + new URL(req.url).pathname);',
    '  return (await file.exists()) ? new Response(file) : new Response("not found", { status: 404 });',
    '} });',
  ].join('\n'));
  return {
    [SERVE]: (port) => [process.execPath, join(ROOT, 'build/host/cli.js'), 'serve', '--quiet', '--workers', String(o.workers),
      '--listen', `127.0.0.1:${port}`, root],
    [NGINX]: nginx ? (port) => [nginx, '-p', o.work, '-e', join(o.work, 'nginx-error.log'), '-c', nginxConf(o, root, port)] :
      'not installed (Debian: apt-get install nginx-light)',
    // One Bun process per worker on the same port (SO_REUSEPORT), as Bun documents for several cores.
    [BUN]: bun ? (port) => [bun, bunScript, String(port), root] :
      'not found (npm install --no-save @oven/bun-linux-x64, put bun on PATH, or set BUN=/path/to/bun)',
    [NODE]: (port) => [process.execPath, join(ROOT, 'build/bench/http_sirv.js'), String(port), root],
  };
}

function nginxConf(o: Options, root: string, port: number): string {
  const conf = join(o.work, `nginx-${port}.conf`);
  const mime = existsSync('/etc/nginx/mime.types') ? 'include /etc/nginx/mime.types;' : '';
  writeFileSync(conf, `daemon off;
master_process on;
worker_processes ${o.workers};
${process.getuid?.() === 0 ? 'user root;' : ''}
pid ${join(o.work, `nginx-${port}.pid`)};
error_log ${join(o.work, 'nginx-error.log')};
events { worker_connections 4096; }
http {
  ${mime}
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 10000000;
  keepalive_timeout 75s;
  client_body_temp_path ${join(o.work, 'nginx-body')};
  server { listen 127.0.0.1:${port} reuseport; root ${root}; }
}
`);
  return conf;
}

/** Fetches `path` once; its body, or an Error. */
function fetchOnce(port: number, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`status ${res.statusCode}`))));
    }).on('error', reject);
  });
}

/** Starts the servers found; resolves once each serves every file right. */
async function startAll(o: Options, root: string, files: Record<string, Buffer>): Promise<Server[]> {
  const started: Server[] = [];
  const devnull = openSync('/dev/null', 'w');
  try {
    for (const [name, cmd] of Object.entries(commands(o, root))) {
      if (typeof cmd === 'string') { console.log(`(h) ${name}: skipped: ${cmd}`); continue; }
      const port = await freePort();
      const argv = cmd(port);
      const copies = name === BUN ? o.workers : 1;
      for (let k = 0; k < copies; k++) {
        const proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', devnull, 'inherit'] });
        const s: Server = { name, proc, port, exited: null };
        proc.on('exit', (code, signal) => { s.exited = `${name} exited (${signal ?? code})`; });
        if (k === 0) started.push(s);
        else started.push({ ...s, name: `${name} #${k}` });
      }
    }
  } finally {
    closeSync(devnull);
  }
  try {
    for (const s of started) {
      for (let tries = 0; ; tries++) {
        if (s.exited) throw new Error(s.exited);
        const ok = await fetchOnce(s.port, '/f4k').then(() => true, () => false);
        if (ok) break;
        if (tries > 100) throw new Error(`${s.name} did not answer within 10 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const [name, data] of Object.entries(files)) {
        const body = await fetchOnce(s.port, `/${name}`);
        if (!body.equals(data)) throw new Error(`${s.name} sent /${name} wrong: ${body.length} bytes`);
      }
    }
  } catch (e) {
    stopAll(started);
    throw e;
  }
  return started;
}

function stopAll(servers: Server[]): void {
  for (const s of servers) if (!s.exited) s.proc.kill('SIGTERM');
}

interface Sample { rps: number; mibs: number; cpuUs: number }

/** CPU of a server and the others of its name (Bun's extra processes). */
function cpuOf(servers: Server[], s: Server): number {
  return servers.filter((x) => x.port === s.port).reduce((a, x) => a + cpuTree(x.proc.pid!), 0);
}

/** One window of keep-alive load on `path`: wrk, or http_load. */
async function load(gen: { wrk: string | null; client: string | null }, port: number, conns: number, ms: number, path: string, size: number): Promise<{ requests: number; ns: number }> {
  if (gen.wrk) {
    const { stdout } = await run(gen.wrk, ['-t1', `-c${conns}`, `-d${ms / 1000}s`, '--timeout', '10s', `http://127.0.0.1:${port}${path}`]);
    const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
    const seconds = /requests in ([\d.]+)(m?s)/.exec(stdout);
    if (!requests || !seconds) throw new Error(`wrk said: ${stdout}`);
    if (/Non-2xx|Socket errors/.test(stdout)) throw new Error(`wrk saw errors on ${path}: ${stdout}`);
    return { requests, ns: Number(seconds[1]) * (seconds[2] === 'ms' ? 1e6 : 1e9) };
  }
  const { stdout } = await run(gen.client!, ['keepalive', String(port), String(conns), String(ms), path, String(size)]);
  const [responses, errors, ns] = stdout.trim().split(' ').map(Number);
  if (errors > 0) throw new Error(`http_load: ${errors} wrong responses or closed connections on ${path}`);
  return { requests: responses, ns };
}

/** Writes the files (the 1 GiB one too when `big`) and reads them back, so the page cache holds them. */
function makeFiles(root: string, big: boolean): Record<string, Buffer> {
  mkdirSync(root, { recursive: true });
  const files: Record<string, Buffer> = {};
  for (const [name, size] of FILES) {
    const b = Buffer.alloc(size);
    for (let i = 0; i < size; i++) b[i] = (i * 131 + 7) & 0xff;
    writeFileSync(join(root, name), b);
    files[name] = b;
  }
  if (big) {
    const chunk = Buffer.alloc(1 << 20, 'z');
    const fd = openSync(join(root, 'f1g'), 'w');
    for (let i = 0; i < BIG / chunk.length; i++) writeSync(fd, chunk);
    closeSync(fd);
    execFileSync('cat', [join(root, 'f1g')], { stdio: ['ignore', 'ignore', 'inherit'] }); // into the page cache
  }
  return files;
}

/** Runs (h) and prints its tables. */
export async function httpBench(options: HttpBenchOptions): Promise<void> {
  const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const casesArg = arg('http-cases'), roundsArg = arg('http-rounds');
  const o: Options = {
    ...options, workers: Number(arg('http-workers') ?? 1),
    cases: casesArg === undefined ? null : new Set(casesArg.split(',')),
    rounds: roundsArg === undefined ? null : Number(roundsArg),
  };
  const known = new Set(['1g', ...FILES.flatMap(([name]) => CONNECTIONS.map((c) => `${name.slice(1)}:${c}`))]);
  for (const c of o.cases ?? []) if (!known.has(c)) throw new Error(`--http-cases: no case ${c} (cases: ${[...known].join(', ')})`);
  if (o.rounds !== null && !(Number.isInteger(o.rounds) && o.rounds >= 1)) throw new Error(`--http-rounds: ${roundsArg} is not a positive integer`);
  const wanted = (c: string) => o.cases === null || o.cases.has(c);
  const wrk = find('wrk');
  const client = compileC(o.work, 'http_load');
  if (!wrk && !client) {
    console.log('(h) skipped: neither wrk nor a C compiler (cc) for bench/c/http_load.c');
    return;
  }
  const root = join(o.work, 'http-root');
  const files = makeFiles(root, client !== null && wanted('1g'));
  const servers = await startAll(o, root, files);
  const main = servers.filter((s) => !s.name.includes(' #'));
  const ms = o.quick ? 1000 : 2000, n = o.rounds ?? (o.quick ? 1 : ROUNDS);
  console.log(`(h) HTTP servers of one folder, ${o.workers} worker${o.workers > 1 ? 's' : ''} each, access log off; ` +
    `load: ${wrk ? 'wrk -t1' : 'bench/c/http_load.c (no wrk)'}, keep-alive, ${ms} ms windows, ${n} rounds`);
  const goals: string[] = [];
  try {
    for (const [name, size] of FILES) {
      for (const conns of CONNECTIONS) {
        if (!wanted(`${name.slice(1)}:${conns}`)) continue;
        const cases = Object.fromEntries(main.map((s) => [s.name, async (): Promise<Sample> => {
          if (s.exited) throw new Error(s.exited);
          const cpu0 = cpuOf(servers, s);
          const { requests, ns } = await load({ wrk, client }, s.port, conns, ms, `/${name}`, size);
          const cpu = cpuOf(servers, s) - cpu0;
          const rps = requests / (ns / 1e9);
          return { rps, mibs: rps * size / 1048576, cpuUs: cpu / requests / 1e3 };
        }]));
        const r = await rounds(n, cases);
        report(`${name.slice(1).toUpperCase()}iB file, ${conns} connections`, r, 'req/s', (x) => x.rps, 'server CPU per request (us)');
        goals.push(...goalLines(`${name.slice(1)}, ${conns} conns`, r, (x) => x.rps, size >= 1 << 20 ? GOALS.throughput : GOALS.rps,
          size >= 1 << 20 ? 'throughput' : 'req/s'));
      }
    }
    if (client && wanted('1g')) {
      const cases = Object.fromEntries(main.map((s) => [s.name, async (): Promise<Sample> => {
        if (s.exited) throw new Error(s.exited);
        const cpu0 = cpuOf(servers, s);
        const { stdout } = await run(client, ['once', String(s.port), '/f1g', String(BIG)]);
        const cpu = cpuOf(servers, s) - cpu0;
        const [bytes, ns] = stdout.trim().split(' ').map(Number);
        if (bytes !== BIG) throw new Error(`${s.name}: ${bytes} bytes of /f1g, not ${BIG}`);
        return { rps: 1e9 / ns, mibs: 1024 / (ns / 1e9), cpuUs: cpu / 1e6 };
      }]));
      const r = await rounds(o.rounds ?? (o.quick ? 1 : BIG_ROUNDS), cases);
      report(`one 1 GiB download, ${o.rounds ?? (o.quick ? 1 : BIG_ROUNDS)} rounds (http_load, splice to /dev/null, length checked)`, r, 'ms', (x) => 1000 / x.rps, 'server CPU (ms)');
      goals.push(...goalLines('1g download', r, (x) => x.mibs, GOALS.throughput, 'throughput'));
    } else if (!client) {
      console.log('(h) the 1 GiB download: skipped: no C compiler for bench/c/http_load.c');
    }
  } finally {
    stopAll(servers);
  }
  console.log(`goals (serve vs nginx: >= ${GOALS.rps}x req/s on 4k and 64k, >= ${GOALS.throughput}x throughput on 1m and 1g; ` +
    `>= ${GOALS.bun}x Bun; >= ${GOALS.node}x Node), in this run:`);
  for (const g of goals) console.log(`  ${g}`);
  console.log('');
}

function report(title: string, r: Record<string, Sample[]>, unit: string, value: (x: Sample) => number, cpu: string): void {
  console.log(`\n${title}`);
  console.log(`| server | ${unit} | min-max | MiB/s | serve's throughput vs it (middle half of rounds) | ${cpu} |`);
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [name, xs] of Object.entries(r)) {
    const v = xs.map(value);
    const ratios = r[SERVE].map((x, i) => x.mibs / xs[i].mibs).sort((a, b) => a - b);
    // The middle half of the per-round ratios: how far one run's median ratio can be trusted.
    const q = (f: number) => ratios[Math.min(ratios.length - 1, Math.floor(f * ratios.length))].toFixed(2);
    console.log(`| ${name} | ${median(v).toFixed(0)} | ${spread(v, 1)} | ${median(xs.map((x) => x.mibs)).toFixed(0)} | ` +
      `${name === SERVE ? '-' : `${median(ratios).toFixed(2)}x (${q(0.25)}-${q(0.75)})`} | ${median(xs.map((x) => x.cpuUs)).toFixed(1)} |`);
  }
}

function goalLines(what: string, r: Record<string, Sample[]>, value: (x: Sample) => number, nginxGoal: number, unit: string): string[] {
  const base = r[SERVE].map(value);
  const out: string[] = [];
  for (const [name, goal] of [[NGINX, nginxGoal], [BUN, GOALS.bun], [NODE, GOALS.node]] as const) {
    if (!r[name]) continue;
    const ratio = pairedRatio(base, r[name].map(value));
    out.push(`${what}: ${unit} vs ${name.split(' ')[0]} ${ratio.toFixed(2)}x (goal ${goal}x: ${ratio >= goal ? 'met' : 'not met'})`);
  }
  return out;
}
