// --trace and the Sandbox's `trace` option: one strace-style line per call a guest makes,
// `name(arg=value, ...) = errno`, with zerocopy calls prefixed by their module.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { errno } from '../host/index.js';
import { join } from 'node:path';
import { PREVIEW1_FUNCTIONS } from '../host/wasi/preview1.js';
import { TRACE_PARAMS } from '../host/wasi/trace.js';
import { GUESTS, ROOT, runCli, runGuest, tempDir } from './helpers/guest.js';
import { Caller, kindsOf } from './helpers/imports.js';

const SCRIPT = join(GUESTS, 'poll_script.wasm');
const HEX = '0x[0-9a-f]+';

function traceOf(ops: string[]): { lines: string[]; stdout: string; status: number } {
  const lines: string[] = [];
  const r = runGuest(SCRIPT, { args: ['poll_script', ...ops], trace: (line) => { lines.push(line); } });
  return { lines, stdout: r.stdout, status: r.status };
}

/** The index of the first line matching `re` at or after `from`; fails if there is none. */
function find(lines: string[], re: RegExp, from = 0): number {
  const i = lines.findIndex((l, k) => k >= from && re.test(l));
  assert.ok(i >= 0, `no line matches ${re} after line ${from}:\n${lines.join('')}`);
  return i;
}

// ---------------------------------------------------------------------------------------
const lines = suite('trace lines');

lines('each call is one line, in order: name, decoded arguments, errno name', () => {
  const t = traceOf(['pipe p', 'write p.w hi', 'poll r:p.r', 'fd x 4242', 'read x 1']);
  assert.is(t.status, 0);
  assert.ok(t.lines.every((l) => /^[a-z_.0-9]+\(.*\) = [a-z0-9]+\n$/.test(l)), t.lines.join(''));
  const pipe = find(t.lines, /^zerocopy\.pipe\(fdflags=0, ret_fds=\[3, 4\]\) = success\n$/);
  const write = find(t.lines, new RegExp(`^fd_write\\(fd=4, iovs=${HEX}, iovs_len=1, nwritten=2\\) = success\\n$`), pipe);
  const poll = find(t.lines, new RegExp(`^poll_oneoff\\(in=${HEX}, out=${HEX}, nsubscriptions=1, nevents=1\\) = success\\n$`), write);
  find(t.lines, new RegExp(`^fd_read\\(fd=4242, iovs=${HEX}, iovs_len=1, nread=${HEX}\\) = badf\\n$`), poll);
  assert.match(t.stdout, /^poll errno=0 n=1\n/, 'the guest\'s own output is untouched');
});

lines('a call that ends the guest prints its exit status instead of an errno', () => {
  const raised = traceOf(['raise 6']);
  assert.is(raised.status, 134);
  assert.is(raised.lines[raised.lines.length - 1], 'proc_raise(sig=6) = exit 134\n');
  const exited = traceOf(['no-such-op']);
  assert.is(exited.status, 2);
  assert.is(exited.lines[exited.lines.length - 1], 'proc_exit(rval=2) = exit 2\n');
});

lines('values print as the ABI\'s unsigned types, fd_seek\'s offset signed, and a zero pointer as NULL', () => {
  const seen: string[] = [];
  const c = new Caller({ trace: (l) => { seen.push(l); } });
  try {
    c.wasi.fd_close(-1);
    c.wasi.fd_seek(7, -5n, 1, 0x100);
    c.wasi.fd_pread(7, 0x10, 1, -1n, 0);
    c.zc.sendfile(1, 2, 0, -1n, 0x100);
    assert.equal(seen, [
      'fd_close(fd=4294967295) = badf\n',
      'fd_seek(fd=7, offset=-5, whence=1, newoffset=0x100) = badf\n',
      'fd_pread(fd=7, iovs=0x10, iovs_len=1, offset=18446744073709551615, nread=NULL) = badf\n',
      'zerocopy.sendfile(out_fd=1, in_fd=2, offset=NULL, count=18446744073709551615, ret_sent=0x100) = badf\n',
    ]);
  } finally { c.close(); }
});

lines('paths print as the strings read before the call; fd_prestat_dir_name\'s as the one it wrote', () => {
  const dir = tempDir();
  const seen: string[] = [];
  const c = new Caller({ preopens: { '/data': dir }, trace: (l) => { seen.push(l); } });
  try {
    const [p, n] = c.str('missing.txt');
    c.wasi.path_open(3, 0, p, n, 0, 2n, 0n, 0, Caller.RET);
    const [bad, badLen] = c.str(new Uint8Array([0x66, 0xff]));
    c.wasi.path_unlink_file(3, bad, badLen);
    c.wasi.path_unlink_file(3, c.memory.buffer.byteLength - 1, 4);
    c.wasi.fd_prestat_dir_name(3, 0x2000, 5);
    c.wasi.fd_prestat_dir_name(3, 0x2000, 2);
    assert.equal(seen, [
      `path_open(fd=3, dirflags=0, path="missing.txt", path_len=11, oflags=0, fs_rights_base=2, fs_rights_inheriting=0, fdflags=0, opened_fd=0x${Caller.RET.toString(16)}) = noent\n`,
      `path_unlink_file(fd=3, path=0x${bad.toString(16)}, path_len=2) = ilseq\n`,
      `path_unlink_file(fd=3, path=0x${(c.memory.buffer.byteLength - 1).toString(16)}, path_len=4) = fault\n`,
      'fd_prestat_dir_name(fd=3, path="/data", path_len=5) = success\n',
      'fd_prestat_dir_name(fd=3, path=0x2000, path_len=2) = nametoolong\n',
    ]);
  } finally {
    c.close();
    rmSync(dir, { recursive: true });
  }
});

lines('results written through pointers print after the call, as strace prints them; on failure, the pointer', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'f.txt'), 'x'.repeat(5000));
  const seen: string[] = [];
  const c = new Caller({ preopens: { '/data': dir }, trace: (l) => { seen.push(l); } });
  try {
    const [p, n] = c.str('f.txt');
    assert.is(c.wasi.path_open(3, 0, p, n, 0, 0x2n | 0x4n | 0x20n, 0n, 0, Caller.RET), errno.success);
    const file = c.u32(Caller.RET);
    c.zc.pipe(0, Caller.RET);
    const [r, w] = [c.u32(Caller.RET), c.u32(Caller.RET + 4)];
    new DataView(c.memory.buffer).setBigInt64(0x200, 1000n, true);
    c.zc.pipe(0, Caller.RET);
    const w2 = c.u32(Caller.RET + 4);
    assert.is(c.zc.sendfile(w, file, 0x200, 4096n, 0x300), errno.success);
    assert.is(c.zc.splice(r, 0, w2, 0, 10n, 0, 0x300), errno.success);
    assert.is(c.zc.sendfile(w, 4242, 0x200, 1n, 0x300), errno.badf);
    assert.is(c.wasi.fd_tell(file, 0x300), errno.success);
    assert.is(c.wasi.fd_seek(file, 7n, 0, 0x300), errno.success);
    assert.equal(seen, [
      `path_open(fd=3, dirflags=0, path="f.txt", path_len=5, oflags=0, fs_rights_base=38, fs_rights_inheriting=0, fdflags=0, opened_fd=${file}) = success\n`,
      `zerocopy.pipe(fdflags=0, ret_fds=[${r}, ${w}]) = success\n`,
      `zerocopy.pipe(fdflags=0, ret_fds=[${w2 - 1}, ${w2}]) = success\n`,
      `zerocopy.sendfile(out_fd=${w}, in_fd=${file}, offset=[1000] => [5000], count=4096, ret_sent=4000) = success\n`,
      `zerocopy.splice(fd_in=${r}, off_in=NULL, fd_out=${w2}, off_out=NULL, len=10, flags=0, ret_moved=10) = success\n`,
      `zerocopy.sendfile(out_fd=${w}, in_fd=4242, offset=[5000], count=1, ret_sent=0x300) = badf\n`,
      `fd_tell(fd=${file}, offset=0) = success\n`,
      `fd_seek(fd=${file}, offset=7, whence=0, newoffset=7) = success\n`,
    ]);
  } finally {
    c.close();
    rmSync(dir, { recursive: true });
  }
});

lines('every import has its parameter names, as many as its witx signature has parameters', () => {
  // Core wasm parameter counts, results passed as pointers included: the signatures table the
  // trampolines are built from (helpers/imports.ts, from the witx and docs/ABI.md).
  const c = new Caller();
  try {
    assert.equal([...Object.keys(c.wasi)].sort(), [...PREVIEW1_FUNCTIONS].sort());
    for (const module of ['wasi_snapshot_preview1', 'zerocopy'] as const) {
      for (const name of Object.keys(module === 'zerocopy' ? c.zc : c.wasi)) {
        assert.ok(name in TRACE_PARAMS, `${name}: no parameter names`);
        assert.is(TRACE_PARAMS[name].split(' ').filter(Boolean).length, kindsOf(module, name).length, name);
      }
    }
  } finally { c.close(); }
});

lines.run();

// ---------------------------------------------------------------------------------------
const sinks = suite('trace sinks');

sinks('the trace option takes a stream-like sink', () => {
  const chunks: string[] = [];
  const c = new Caller({ trace: { write: (s: string) => chunks.push(s) } });
  try {
    c.wasi.sched_yield();
    assert.equal(chunks, ['sched_yield() = success\n']);
  } finally { c.close(); }
});

sinks('trace: true writes to descriptor 2; without the option nothing is written', () => {
  const program = (trace: string) => `
    import { Sandbox } from ${JSON.stringify(join(ROOT, 'build', 'host', 'index.js'))};
    const sb = new Sandbox({ stdin: null, stdout: null, stderr: null${trace} });
    sb.attachMemory(new WebAssembly.Memory({ initial: 1 }));
    sb.getImportObject().wasi_snapshot_preview1.fd_close(9);
    sb.close();`;
  for (const [trace, expected] of [[', trace: true', 'fd_close(fd=9) = badf\n'], ['', '']] as const) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', program(trace)], { encoding: 'utf8', timeout: 30_000 });
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stderr, expected);
    assert.is(r.stdout, '');
  }
});

sinks('wasm-zerocopy run --trace puts the trace on stderr and leaves stdout to the guest', () => {
  const r = runCli(['run', '--trace', SCRIPT, 'pipe p', 'poll w:p.w']);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.split('\n').slice(0, 2).join('\n'), 'poll errno=0 n=1\nevent u=1 type=2 error=0 nbytes=0 flags=0');
  assert.not.match(r.stdout, /= success/);
  assert.match(r.stderr, new RegExp(`^poll_oneoff\\(in=${HEX}, out=${HEX}, nsubscriptions=1, nevents=1\\) = success$`, 'm'));
  assert.match(r.stderr, new RegExp(`^fd_write\\(fd=1, iovs=${HEX}, iovs_len=1, nwritten=\\d+\\) = success$`, 'm'));
});

sinks.run();
