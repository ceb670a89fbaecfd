// npm run bench [-- --quick] [-- --only=a,b,c,d,e,f,g,h] [-- --tcp-congestion=NAME]: the cost
// of the sandbox, as ratios against baselines measured in the same run. Not a test: nothing
// here asserts a time.
//
// (a) one sendfile(count = 0), layer by layer (bench/layers.ts): C, koffi alone, the host through
//     koffi, the guest calling an empty import, the same through the guard, and the real import.
// (b) one 256 MiB file-to-TCP transfer over loopback: guest sendfile, host-direct sendfile,
//     Node's fs.createReadStream().pipe(socket), and a read/write copy through guest memory.
//     The receiver is a separate process (bench/sink.ts) timing accept-to-EOF.
// (c), (d) the seed server against C (poll and epoll), host-direct and Node servers: one
//     256 MiB transfer, and connections per second on 4 KiB with 64 clients, with 4 clients,
//     and with 1,000 and 10,000 idle connections held open (bench/servers.ts).
// (e), (f) components (WASI 0.2): one host call through jco's glue against a core module's,
//     and the file-to-TCP transfer from a component on this host, on preview2-shim, from the
//     core module and from C (bench/components.ts).
// (g) the proxy guest against HAProxy with splice, its own loop in C, a Node pipe proxy and no proxy: one 1 GiB
//     stream, and connections per second for 4 KiB exchanges (bench/proxy.ts).
// (h) `wasm-zerocopy serve` against nginx, Bun and Node + sirv: keep-alive load and a 1 GiB
//     download (bench/http.ts; --http-workers=N, default 1).
//
// `--only=a,c` runs some sections; `--quick` fewer and shorter rounds; `--tcp-congestion=NAME`
// runs them in a network namespace of their own whose TCP uses NAME (bench/netns.ts).
//
// The machine is shared and noisy, so every case runs once per round, the order rotating
// from round to round so that no case always follows the same neighbour; times are medians
// over rounds, and each ratio is the median of the per-round ratios: a case is compared with
// the baseline measured next to it, which cancels load that changes slowly during the run.
import { closeSync, createReadStream, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { connect } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as libc from '../host/native/libc.js';
import { compileC, median, pairedRatio, rounds, spread } from './common.js';
import { layerCases, runGuest } from './layers.js';
import { httpBench } from './http.js';
import { serverBench } from './servers.js';
import { proxyBench } from './proxy.js';
import * as components from './components.js';
import { Sink } from './sink.js';
import { tcpCongestion } from './netns.js';

/** Which congestion control the loopback's TCP uses; first, since it may run the bench again elsewhere. */
const tcp = tcpCongestion(process.argv);

const quick = process.argv.includes('--quick');
/** `--only a,c`: run only those sections (the file for (c) is written by (b)'s setup). */
const onlyArg = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const only = new Set((onlyArg ?? 'a,b,c,d,e,f,g,h').split(','));
const CALL_ROUNDS = quick ? 3 : 9;
const CALLS = quick ? 50_000 : 200_000;
/** A transfer takes tens of milliseconds, short enough to be disturbed: many rounds. */
const TRANSFER_ROUNDS = quick ? 3 : 31;
const SIZE = 256 * 1024 * 1024;
/** The goal: a guest's single stream at >= 97% of host-direct sendfile. */
const GOAL = 0.97;

const work = mkdtempSync(join(tmpdir(), 'wzc-bench-'));

// --- (a) per-call cost -------------------------------------------------------------------
async function perCall(cExe: string | null): Promise<Record<string, number[]>> {
  const src = join(work, 'small');
  writeFileSync(src, 'x');
  // A regular file at EOF: sendfile(count = 0) returns 0 at once, so each call is all overhead.
  const inFd = openSync(src, 'r');
  const outFd = openSync('/dev/null', 'w');
  try {
    return await rounds(CALL_ROUNDS, layerCases(inFd, outFd, CALLS, cExe, src));
  } finally {
    closeSync(inFd);
    closeSync(outFd);
  }
}

// --- (b) 256 MiB over loopback ------------------------------------------------------------
type Send = (sink: Sink, file: string) => Promise<void>;

/** The bench guest moving the file to a fresh connection with `mode` (sendfile or copy). */
function guestSend(mode: string): Send {
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

const senders: Record<string, Send> = {
  'host-direct sendfile': async (sink, file) => {
    const inFd = openSync(file, 'r');
    const sock = sink.connectRaw();
    try {
      // sendfile(2) may return short counts (a signal, or a count over 0x7ffff000): loop.
      for (let left = SIZE; left > 0;) {
        const n = libc.sendfile(sock, inFd, null, left);
        if (n <= 0) throw new Error(`sendfile: ${n}`);
        left -= n;
      }
    } finally {
      closeSync(inFd);
      libc.close(sock);
    }
  },
  'guest sendfile': guestSend('sendfile'),
  'node stream pipe': (sink, file) => new Promise((resolve, reject) => {
    const sock = connect(sink.tcpPort, '127.0.0.1', () => {
      createReadStream(file).pipe(sock).on('finish', resolve).on('error', reject);
    });
    sock.on('error', reject);
  }),
  'guest read/write copy': guestSend('copy'),
};

/** The 256 MiB file of (b) and (c), written once and read back so the page cache holds it. */
function bigFile(): string {
  const file = join(work, 'big');
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 131) & 0xff;
  const fd = openSync(file, 'w');
  for (let i = 0; i < SIZE / chunk.length; i++) writeSync(fd, chunk);
  closeSync(fd);
  readFileSync(file); // warm the page cache: the bench measures the transfer, not the disk
  return file;
}

async function throughput(sinkExe: string | null, file: string): Promise<Record<string, number[]>> {
  const sink = await Sink.start(sinkExe);
  try {
    const cases = Object.fromEntries(Object.entries(senders).map(([name, send]) => [name, async () => {
      await send(sink, file);
      const { bytes, ns } = await sink.result();
      if (bytes !== SIZE) throw new Error(`${name}: the sink received ${bytes} bytes, not ${SIZE}`);
      return ns;
    }]));
    return await rounds(TRANSFER_ROUNDS, cases);
  } finally {
    sink.stop();
  }
}

// --- report ------------------------------------------------------------------------------
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

function reportCalls(a: Record<string, number[]>): void {
  const host = a['host-direct (koffi)'], c = a.C;
  console.log(`(a) one sendfile(count = 0), regular file -> /dev/null, layer by layer (bench/layers.ts): ` +
    `${CALL_ROUNDS} rounds of ${CALLS} calls` + (c ? ` (C: ${CALLS * 4})` : ''));
  console.log('| caller | ns/call | min-max | ratio to host-direct | ratio to C |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [name, ns] of Object.entries(a)) {
    console.log(`| ${name} | ${median(ns).toFixed(0)} | ${spread(ns, 1)} | ${pairedRatio(ns, host).toFixed(2)} | ` +
      `${c ? pairedRatio(ns, c).toFixed(2) : 'no cc'} |`);
  }
  if (!c) console.log('| C | - | - | - | no C compiler |');
  // Each layer's price is the difference of two cases measured in the same round.
  const diff = (x: number[], y: number[]): string => median(x.map((v, i) => v - y[i])).toFixed(0);
  const koffi = a['koffi, no system call'], empty = a['wasm -> JS, empty import'], guarded = a['+ guard'];
  console.log(`layers (ns per call): wasm -> JS call ${median(empty).toFixed(0)} (with the guest's loop), ` +
    `guard ${diff(guarded, empty)}, decoding and lookups ${median(a.guest.map((g, i) => g - guarded[i] - host[i])).toFixed(0)}, ` +
    `koffi ${median(koffi).toFixed(0)}, koffi's sendfile binding over abs(3) + the system call ${diff(host, koffi)}` +
    (c ? ` (C's system call ${median(c).toFixed(0)})` : ''));
  const ratio = pairedRatio(a.guest, host);
  console.log(`goal: guest per-call cost <= 1.3x host-direct: ${ratio.toFixed(2)}x (${ratio <= 1.3 ? 'met' : 'not met'} in this run); ` +
    `guest overhead over host-direct: ${diff(a.guest, host)} ns` + (c ? `; over C: ${diff(a.guest, c)} ns` : '') + '\n');
}

function reportStream(b: Record<string, number[]>, sinkExe: string | null): void {
  const base = b['host-direct sendfile'];
  console.log(`(b) ${SIZE >> 20} MiB file -> TCP over 127.0.0.1, ${TRANSFER_ROUNDS} rounds; receiver: ` +
    `${sinkExe ? 'C, splice(2) to /dev/null' : 'Node, highWaterMark 1 MiB'}, separate process, byte count verified`);
  console.log('| sender | time (ms) | min-max (ms) | MiB/s | throughput vs host-direct |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [name, ns] of Object.entries(b)) {
    const mibs = (SIZE / 1048576) / (median(ns) / 1e9);
    console.log(`| ${name} | ${(median(ns) / 1e6).toFixed(0)} | ${spread(ns, 1e6)} | ${mibs.toFixed(0)} | ` +
      `${(100 / pairedRatio(ns, base)).toFixed(1)}% |`);
  }
  const guest = 1 / pairedRatio(b['guest sendfile'], base);
  console.log(`goal: guest single-stream sendfile >= ${GOAL * 100}% of host-direct: ` +
    `${(guest * 100).toFixed(1)}% (${guest >= GOAL ? 'met' : 'not met'} in this run)\n`);
}

async function main(): Promise<void> {
  const callsExe = compileC(work, 'calls');
  const sinkExe = compileC(work, 'sink');
  const loadExe = compileC(work, 'load');
  const cServer = compileC(work, 'send_file');
  const cEpoll = compileC(work, 'send_file_epoll');
  console.log(`wasm-zerocopy bench${quick ? ' (--quick)' : ''}: cases interleaved in rotating order; ` +
    'times are medians over rounds, ratios medians of per-round ratios');
  console.log(`C compiler: ${callsExe ? 'cc' : 'none (no C row in (a); Node receiver in (b); no (c) and (d))'}; ` +
    `load average at start: ${load()}`);
  console.log(`TCP congestion control: ${tcp}\n`);

  if (only.has('a')) reportCalls(await perCall(callsExe));
  const servers = loadExe !== null && cServer !== null && cEpoll !== null;
  const file = only.has('b') || only.has('f') || (only.has('c') && servers) ? bigFile() : '';
  if (only.has('b')) reportStream(await throughput(sinkExe, file), sinkExe);
  if (only.has('c') || only.has('d')) {
    if (servers) {
      await serverBench({ work, load: loadExe, cServer, cEpoll, bigFile: file, bigSize: SIZE, quick, sections: only });
    } else {
      console.log('(c), (d): skipped: the server bench needs a C compiler (cc) for its client and its C baseline');
    }
  }
  if (only.has('e') || only.has('f')) {
    const bench: components.ComponentBench = {
      work, coreCalls, coreSend: guestSend('sendfile'), hostSend: senders['host-direct sendfile'],
      cSender: compileC(work, 'sendfile_to'),
    };
    if (only.has('e')) await components.calls(bench, CALLS, CALL_ROUNDS);
    if (only.has('f')) {
      const sink = await Sink.start(sinkExe);
      try {
        await components.transfer(bench, sink, file, SIZE, TRANSFER_ROUNDS);
      } finally {
        sink.stop();
      }
    }
  }
  if (only.has('g')) {
    const cProxy = servers ? compileC(work, 'proxy_splice') : null;
    if (servers && cProxy !== null) await proxyBench({ work, load: loadExe, cServer, cProxy, quick });
    else console.log('(g): skipped: the proxy bench needs a C compiler (cc) for its client and its upstream');
  }
  if (only.has('h')) await httpBench({ work, quick });
  console.log(`load average at end: ${load()}`);
}

/** The core guest's ns per sendfile(count = 0), as in (a), for (e). */
function coreCalls(n: number): number {
  const src = join(work, 'small-e');
  writeFileSync(src, 'x');
  const inFd = openSync(src, 'r'), outFd = openSync('/dev/null', 'w');
  try {
    return Number(runGuest(['calls', String(n)], () => [outFd, inFd]));
  } finally {
    closeSync(inFd);
    closeSync(outFd);
  }
}

main().catch((e) => {
  console.error(`bench: ${e instanceof Error ? e.message : e}`);
  process.exitCode = 1;
}).finally(() => rmSync(work, { recursive: true, force: true }));
