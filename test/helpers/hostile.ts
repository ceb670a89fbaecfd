// Hostile guests for the adversarial suites, as WAT: each is a `_start` body over a common
// prelude of imports and small helpers. Memory layout: 0..15 an iovec and a result, 16..23 a
// pipe's two descriptors, 64..127 an fdstat, 256.. the strings, 4096.. a buffer of 64 KiB.
import { readFileSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { runCli } from './guest.js';
import * as libc from '../../host/native/libc.js';
import { waitFor } from './wait.js';
import { data, wat, watFile } from './wat.js';

export { waitFor };

const PRELUDE = `
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fd_fdstat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "sock_accept" (func $sock_accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "zerocopy" "pipe" (func $pipe (param i32 i32) (result i32)))
  (import "zerocopy" "sendfile" (func $sendfile (param i32 i32 i32 i64 i32) (result i32)))
  ;; writes len bytes at ptr to descriptor fd; returns the errno
  (func $write (param $fd i32) (param $ptr i32) (param $len i32) (result i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))
  ;; "ready\\n" on stderr: the test waits for it before it acts
  (func $ready (drop (call $write (i32.const 2) (i32.const 256) (i32.const 6))))
  ;; "caught\\n" on stderr: the guest caught what should have ended it
  (func $caught (drop (call $write (i32.const 2) (i32.const 272) (i32.const 7))))
  ${data(256, 'ready\n')}
  ${data(272, 'caught\n')}
`;

/** A command module: the prelude, `extra` module fields, and a `_start` running `body`. */
export function source(body: string, extra = '', memory = '(memory (export "memory") 2)'): string {
  return `(module ${PRELUDE} ${memory} ${extra} (func (export "_start") ${body}))`;
}

export const hostile = (body: string, extra = '', memory?: string): WebAssembly.Module => wat(source(body, extra, memory));
export const hostileFile = (dir: string, name: string, body: string, extra = '', memory?: string): string =>
  watFile(dir, name, source(body, extra, memory));

/** Waits until the file at `path` contains `text`. */
export const waitForText = async (path: string, text: string, ms?: number): Promise<void> => {
  await waitFor(`"${text.trim()}" in ${path}`, () => readFileSync(path, 'utf8').includes(text), ms);
};

/** Bytes queued in a pipe, read through any descriptor of it (FIONREAD). */
export function queued(hostFd: number): number {
  const n = Buffer.alloc(4);
  if (libc.ioctlInt(hostFd, 0x541b /* FIONREAD */, n) < 0) throw new Error('FIONREAD failed');
  return n.readInt32LE(0);
}


/**
 * A guest whose recursion exhausts the call stack, run under the CLI in this thread and in a
 * worker: each run prints exactly one line and exits 134 (128 + SIGABRT, as a native crash).
 */
export function assertStackExhaustedAtCli(path: string): void {
  const r = runCli(['run', path]);
  assert.is(r.status, 134, r.stderr);
  assert.is(r.stderr, `wasm-zerocopy: ${path}: trap: call stack exhausted\n`);
  const w = runCli(['run', '--workers', '1', path]);
  assert.is(w.status, 134, w.stderr);
  assert.is(w.stderr, 'wasm-zerocopy: worker 1: trap: call stack exhausted\n');
}

/**
 * Runs `start` and counts how it ended in `outcomes`: "returned", "trap: MESSAGE" for a wasm
 * trap, or "NAME: MESSAGE" for anything else thrown (a host error that should not be there).
 */
export function countOutcome(outcomes: Map<string, number>, start: () => unknown): void {
  let what = 'returned';
  try {
    start();
  } catch (e) {
    what = e instanceof WebAssembly.RuntimeError ? `trap: ${e.message}` : `${(e as Error).name}: ${(e as Error).message}`;
  }
  outcomes.set(what, (outcomes.get(what) ?? 0) + 1);
}
