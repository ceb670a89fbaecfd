// npm run bench [-- --quick]: the cost of the sandbox, as ratios against baselines measured in
// the same run (the machine is shared and noisy: each figure is the median of interleaved
// repetitions). Not a test: nothing here asserts a time.
//
// (a) one sendfile(count = 0): made by a guest, by the host directly through koffi, and by C.
// (b) one 256 MiB file-to-TCP transfer over loopback: guest sendfile, host-direct sendfile,
//     Node's fs.createReadStream().pipe(socket), and a read/write copy through guest memory.
//     The receiver is a separate process reading into a 1 MiB buffer and timing accept-to-EOF.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as libc from '../host/native/libc.js';
import { Sandbox } from '../host/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GUEST = join(ROOT, 'build', 'guests', 'bench_guest.wasm');
const quick = process.argv.includes('--quick');
const REPS = quick ? 2 : 5;
/** The transfers take tens of milliseconds each: more repetitions steady their medians. */
const TRANSFER_REPS = quick ? 2 : 15;
const SIZE = 256 * 1024 * 1024;
const CALLS = quick ? 50_000 : 300_000;

const work = mkdtempSync(join(tmpdir(), 'wzc-bench-'));
const module = new WebAssembly.Module(readFileSync(GUEST));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Compiles bench/c/NAME.c with cc, or returns null when there is no C compiler. */
function compileC(name: string): string | null {
  const exe = join(work, name);
  try {
    execFileSync('cc', ['-O2', join(ROOT, 'bench', 'c', `${name}.c`), '-o', exe], { stdio: 'pipe' });
    return exe;
  } catch {
    return null;
  }
}

/**
 * Runs the bench guest with `out` and `in` granted as descriptors 3 and 4; returns its stdout.
 * The descriptors are asked for only once the instance exists, so that setting up the sandbox
 * is not counted in a transfer the receiver times from accept(2).
 */
function runGuest(args: string[], fds: () => [outFd: number, inFd: number]): string {
  let stdout = '';
  const sandbox = new Sandbox({
    args: ['bench_guest', ...args],
    stdout: { write: (b) => { stdout += Buffer.from(b).toString(); return b.length; } },
  });
  try {
    const instance = new WebAssembly.Instance(module, sandbox.getImportObject());
    const [outFd, inFd] = fds();
    if (sandbox.grant(outFd) !== 3 || sandbox.grant(inFd) !== 4) throw new Error('unexpected descriptor numbers');
    const status = sandbox.start(instance);
    if (status !== 0) throw new Error(`bench guest ${args.join(' ')} exited ${status}`);
    return stdout;
  } finally {
    sandbox.close();
  }
}

// --- (a) per-call cost -------------------------------------------------------------------
function perCall(cExe: string | null): Record<string, number> {
  const src = join(work, 'small');
  writeFileSync(src, 'x');
  const inFd = openSync(src, 'r');
  const outFd = openSync('/dev/null', 'w');
  const guest: number[] = [], host: number[] = [], c: number[] = [];
  try {
    for (let r = 0; r < REPS; r++) {
      guest.push(Number(runGuest(['calls', String(CALLS)], () => [outFd, inFd])));
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < CALLS; i++) if (libc.sendfile(outFd, inFd, null, 0) !== 0) throw new Error('sendfile failed');
      host.push(Number(process.hrtime.bigint() - t0) / CALLS);
      if (cExe) c.push(Number(execFileSync(cExe, [src, '/dev/null', String(CALLS * 4)], { encoding: 'utf8' })));
    }
  } finally {
    closeSync(inFd);
    closeSync(outFd);
  }
  const out: Record<string, number> = { guest: median(guest), host: median(host) };
  if (cExe) out.c = median(c);
  return out;
}

// --- (b) 256 MiB over loopback ------------------------------------------------------------
class Sink {
  private lines: string[] = [];
  private waiters: ((line: string) => void)[] = [];
  readonly proc: ChildProcessWithoutNullStreams;
  port = 0;

  constructor(exe: string | null) {
    this.proc = exe ? spawn(exe) : spawn(process.execPath, ['-e', NODE_SINK]);
    let buf = '';
    this.proc.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const w = this.waiters.shift();
        if (w) w(line); else this.lines.push(line);
      }
    });
  }

  next(): Promise<string> {
    const l = this.lines.shift();
    return l !== undefined ? Promise.resolve(l) : new Promise((res) => this.waiters.push(res));
  }

  /** A blocking TCP connection to the sink as a raw host descriptor (socket(2), connect(2)). */
  connectRaw(): number {
    const fd = libc.socket(2 /* AF_INET */, 1 /* SOCK_STREAM */ | 0o2000000 /* SOCK_CLOEXEC */, 0);
    const addr = Buffer.alloc(16);
    addr.writeUInt16LE(2, 0);
    addr.writeUInt16BE(this.port, 2);
    addr.writeUInt32BE(0x7f000001, 4);
    if (fd < 0 || libc.connect(fd, addr, 16) < 0) throw new Error('cannot connect to the sink');
    return fd;
  }
}

const NODE_SINK = `
const net = require('net');
const srv = net.createServer({ highWaterMark: 1 << 20 }, (c) => {
  const t0 = process.hrtime.bigint(); let n = 0;
  c.on('data', (d) => { n += d.length; });
  c.on('end', () => { console.log(n + ' ' + (process.hrtime.bigint() - t0)); });
});
srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));`;

type Variant = (sink: Sink, file: string) => Promise<void>;

/** The bench guest moving the file to a fresh connection with `mode` (sendfile or copy). */
function guestTransfer(mode: string): Variant {
  return async (sink, file) => {
    const inFd = openSync(file, 'r');
    let sock = -1;
    try {
      runGuest([mode, String(SIZE)], () => [sock = sink.connectRaw(), inFd]);
    } finally {
      closeSync(inFd);
      if (sock >= 0) libc.close(sock);
    }
  };
}

const variants: Record<string, Variant> = {
  'host-direct sendfile': async (sink, file) => {
    const sock = sink.connectRaw();
    const inFd = openSync(file, 'r');
    try {
      let left = SIZE;
      while (left > 0) {
        const n = libc.sendfile(sock, inFd, null, left);
        if (n <= 0) throw new Error(`sendfile: ${n}`);
        left -= n;
      }
    } finally {
      closeSync(inFd);
      libc.close(sock);
    }
  },
  'guest sendfile': guestTransfer('sendfile'),
  'node stream pipe': (sink, file) => new Promise((resolve, reject) => {
    const sock = connect(sink.port, '127.0.0.1', () => {
      createReadStream(file).pipe(sock).on('finish', resolve).on('error', reject);
    });
    sock.on('error', reject);
  }),
  'guest read/write copy': guestTransfer('copy'),
};

async function throughput(sinkExe: string | null): Promise<Record<string, number>> {
  const file = join(work, 'big');
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 131) & 0xff;
  const fd = openSync(file, 'w');
  for (let i = 0; i < SIZE / chunk.length; i++) writeFileSync(fd, chunk);
  closeSync(fd);
  readFileSync(file); // warm the page cache

  const sink = new Sink(sinkExe);
  sink.port = Number(await sink.next());
  const times: Record<string, number[]> = {};
  try {
    for (let r = 0; r < TRANSFER_REPS; r++) {
      for (const [name, run] of Object.entries(variants)) {
        await run(sink, file);
        const [bytes, ns] = (await sink.next()).split(' ').map(Number);
        if (bytes !== SIZE) throw new Error(`${name}: the sink received ${bytes} bytes, not ${SIZE}`);
        (times[name] ??= []).push(ns);
      }
    }
  } finally {
    sink.proc.kill();
  }
  return Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
}

// --- report ------------------------------------------------------------------------------
async function main(): Promise<void> {
  const callsExe = compileC('calls');
  const sinkExe = compileC('sink');
  console.log(`wasm-zerocopy bench: ${REPS} interleaved repetitions, medians${quick ? ' (--quick)' : ''}`);
  console.log(`C compiler: ${callsExe ? 'cc' : 'none (C rows omitted; Node sink used)'}\n`);

  const a = perCall(callsExe);
  console.log('(a) one sendfile(count = 0)');
  console.log('| caller | ns/call | ratio to host-direct |' + (a.c ? ' ratio to C |' : ''));
  console.log('|---|---:|---:|' + (a.c ? '---:|' : ''));
  for (const [name, ns] of Object.entries(a)) {
    const label = name === 'c' ? 'C' : name === 'host' ? 'host-direct (koffi)' : 'guest';
    console.log(`| ${label} | ${ns.toFixed(0)} | ${(ns / a.host).toFixed(2)} |` + (a.c ? ` ${(ns / a.c).toFixed(2)} |` : ''));
  }
  console.log(`guest overhead per call over host-direct: ${(a.guest - a.host).toFixed(0)} ns\n`);

  const b = await throughput(sinkExe);
  const base = b['host-direct sendfile'];
  console.log(`(b) ${SIZE >> 20} MiB file -> TCP over loopback (receiver: ${sinkExe ? 'C' : 'Node'}, separate process)`);
  console.log('| sender | time (ms) | MiB/s | throughput vs host-direct |');
  console.log('|---|---:|---:|---:|');
  for (const [name, ns] of Object.entries(b)) {
    const mibs = (SIZE / 1048576) / (ns / 1e9);
    console.log(`| ${name} | ${(ns / 1e6).toFixed(0)} | ${mibs.toFixed(0)} | ${(100 * base / ns).toFixed(1)}% |`);
  }
}

main().catch((e) => {
  console.error(`bench: ${e instanceof Error ? e.message : e}`);
  process.exitCode = 1;
}).finally(() => rmSync(work, { recursive: true, force: true }));
