// A component written in the WebAssembly text format against the WASI 0.2.3 interfaces, that
// calls the host's imports with whatever handles, pointers and lengths a test gives it: the
// canonical-ABI calls no toolchain makes on purpose (a dropped handle, a made-up one, a list
// running past the end of memory), made through jco's real glue. Each case is a body of
// instructions, run by `run` when the first byte of the guest's argument names it; the guest
// has a few helpers and locals to get handles with (see PRELUDE).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadJco } from '../../host/component/jco.js';
import { loadComponent, type Component } from '../../host/component/load.js';
import { ROOT } from './guest.js';
import { data, watBytes } from './wat.js';

/**
 * The parts of WASI 0.2.3 the probe imports, with their definitions (WebAssembly/WASI, v0.2.3),
 * and of wit/zerocopy.wit: nested packages, so that the world needs no files.
 */
const ERROR_CODES = readFileSync(join(ROOT, 'wit', 'zerocopy.wit'), 'utf8').match(/enum error-code \{([^}]*)\}/)![1];
const WIT = `package local:probe;

package wasi:io@0.2.3 {
  interface error {
    resource error { to-debug-string: func() -> string; }
  }
  interface poll {
    resource pollable { ready: func() -> bool; block: func(); }
    poll: func(in: list<borrow<pollable>>) -> list<u32>;
  }
  interface streams {
    use error.{error};
    use poll.{pollable};
    variant stream-error { last-operation-failed(error), closed }
    resource input-stream {
      read: func(len: u64) -> result<list<u8>, stream-error>;
      subscribe: func() -> pollable;
    }
    resource output-stream {
      check-write: func() -> result<u64, stream-error>;
      write: func(contents: list<u8>) -> result<_, stream-error>;
      blocking-write-and-flush: func(contents: list<u8>) -> result<_, stream-error>;
      subscribe: func() -> pollable;
    }
  }
}

package wasi:clocks@0.2.3 {
  interface wall-clock {
    record datetime { seconds: u64, nanoseconds: u32 }
  }
}

package wasi:filesystem@0.2.3 {
  interface types {
    use wasi:io/streams@0.2.3.{input-stream, output-stream, error};
    use wasi:clocks/wall-clock@0.2.3.{datetime};
    type filesize = u64;
    enum descriptor-type { unknown, block-device, character-device, directory, fifo, symbolic-link, regular-file, socket }
    flags descriptor-flags { read, write, file-integrity-sync, data-integrity-sync, requested-write-sync, mutate-directory }
    flags path-flags { symlink-follow }
    flags open-flags { create, directory, exclusive, truncate }
    record descriptor-stat {
      %type: descriptor-type, link-count: u64, size: filesize, data-access-timestamp: option<datetime>,
      data-modification-timestamp: option<datetime>, status-change-timestamp: option<datetime>,
    }
    enum error-code {
      access, would-block, already, bad-descriptor, busy, deadlock, quota, exist, file-too-large,
      illegal-byte-sequence, in-progress, interrupted, invalid, io, is-directory, loop, too-many-links,
      message-size, name-too-long, no-device, no-entry, no-lock, insufficient-memory, insufficient-space,
      not-directory, not-empty, not-recoverable, unsupported, no-tty, no-such-device, overflow,
      not-permitted, pipe, read-only, invalid-seek, text-file-busy, cross-device,
    }
    resource descriptor {
      read-via-stream: func(offset: filesize) -> result<input-stream, error-code>;
      write-via-stream: func(offset: filesize) -> result<output-stream, error-code>;
      write: func(buffer: list<u8>, offset: filesize) -> result<filesize, error-code>;
      stat: func() -> result<descriptor-stat, error-code>;
      open-at: func(path-flags: path-flags, path: string, open-flags: open-flags, %flags: descriptor-flags) -> result<descriptor, error-code>;
    }
    filesystem-error-code: func(err: borrow<error>) -> option<error-code>;
  }
  interface preopens {
    use types.{descriptor};
    get-directories: func() -> list<tuple<descriptor, string>>;
  }
}

package wasi:cli@0.2.3 {
  interface environment { get-arguments: func() -> list<string>; }
  interface stdout {
    use wasi:io/streams@0.2.3.{output-stream};
    get-stdout: func() -> output-stream;
  }
  interface run { run: func() -> result; }
}

package wasm-zerocopy:zerocopy@0.1.0 {
  interface zerocopy {
    use wasi:io/streams@0.2.3.{input-stream, output-stream};
    use wasi:filesystem/types@0.2.3.{descriptor, filesize};
    enum error-code {${ERROR_CODES}}
    sendfile: func(in: borrow<descriptor>, offset: filesize, out: borrow<output-stream>, count: u64) -> result<u64, error-code>;
    splice: func(in: borrow<input-stream>, out: borrow<output-stream>, len: u64) -> result<u64, error-code>;
  }
}

world probe {
  import wasi:cli/environment@0.2.3;
  import wasi:cli/stdout@0.2.3;
  import wasi:filesystem/preopens@0.2.3;
  import wasi:filesystem/types@0.2.3;
  import wasi:io/poll@0.2.3;
  import wasm-zerocopy:zerocopy/zerocopy@0.1.0;
  export wasi:cli/run@0.2.3;
}
`;

/** Where the probe keeps things in its one page of memory. */
export const PROBE = {
  /** Results the imports store (retptr), 8-aligned, 64 bytes. */
  RET: 0x100,
  /** Strings: "f", "g", "h" (file names), "abc", and "end" in the last 3 bytes of memory. */
  F: 0x400, G: 0x402, H: 0x404, ABC: 0x410, END: 0x10000 - 3,
  /** The size of its memory: one page. */
  MEMORY: 0x10000,
} as const;

const FS = '"wasi:filesystem/types@0.2.3"';
const IO = '"wasi:io/streams@0.2.3"';
const PRELUDE = `
  (import "wasi:cli/environment@0.2.3" "get-arguments" (func $get-arguments (param i32)))
  (import "wasi:cli/stdout@0.2.3" "get-stdout" (func $get-stdout (result i32)))
  (import "wasi:filesystem/preopens@0.2.3" "get-directories" (func $get-directories (param i32)))
  (import ${FS} "[method]descriptor.open-at" (func $open-at (param i32 i32 i32 i32 i32 i32 i32)))
  (import ${FS} "[method]descriptor.write" (func $write (param i32 i32 i32 i64 i32)))
  (import ${FS} "[method]descriptor.stat" (func $stat (param i32 i32)))
  (import ${FS} "[method]descriptor.read-via-stream" (func $read-via-stream (param i32 i64 i32)))
  (import ${FS} "[method]descriptor.write-via-stream" (func $write-via-stream (param i32 i64 i32)))
  (import ${FS} "[resource-drop]descriptor" (func $drop-descriptor (param i32)))
  (import ${FS} "filesystem-error-code" (func $filesystem-error-code (param i32 i32)))
  (import ${IO} "[method]output-stream.write" (func $stream-write (param i32 i32 i32 i32)))
  (import ${IO} "[method]output-stream.blocking-write-and-flush" (func $blocking-write-and-flush (param i32 i32 i32 i32)))
  (import ${IO} "[method]output-stream.subscribe" (func $subscribe (param i32) (result i32)))
  (import ${IO} "[method]input-stream.read" (func $stream-read (param i32 i64 i32)))
  (import ${IO} "[resource-drop]output-stream" (func $drop-output-stream (param i32)))
  (import ${IO} "[resource-drop]input-stream" (func $drop-input-stream (param i32)))
  (import "wasi:io/poll@0.2.3" "poll" (func $poll (param i32 i32 i32)))
  (import "wasi:io/poll@0.2.3" "[method]pollable.block" (func $block (param i32)))
  (import "wasm-zerocopy:zerocopy/zerocopy@0.1.0" "sendfile" (func $sendfile (param i32 i64 i32 i64 i32)))
  (import "wasm-zerocopy:zerocopy/zerocopy@0.1.0" "splice" (func $splice (param i32 i32 i64 i32)))

  (memory (export "memory") 1)
  ${data(PROBE.F, 'f')} ${data(PROBE.G, 'g')} ${data(PROBE.H, 'h')} ${data(PROBE.ABC, 'abc')} ${data(PROBE.END, 'end')}
  (global $heap (mut i32) (i32.const 0x1000))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
      (i32.xor (i32.sub (local.get 2) (i32.const 1)) (i32.const -1))))
    (global.set $heap (i32.add (local.get $p) (local.get 3)))
    (local.get $p))

  ;; The first byte of the guest's argument 1: which case to run.
  (func $case (result i32)
    (call $get-arguments (i32.const 0x200))
    (i32.load8_u (i32.load offset=8 (i32.load (i32.const 0x200)))))
  ;; The handle of the first preopen.
  (func $preopen (result i32)
    (call $get-directories (i32.const 0x200))
    (i32.load (i32.load (i32.const 0x200))))
  ;; open-at(dir, name, {}, {read, write}): a handle, or unreachable on an error.
  (func $open (param $dir i32) (param $name i32) (result i32)
    (call $open-at (local.get $dir) (i32.const 0) (local.get $name) (i32.const 1) (i32.const 0) (i32.const 3) (i32.const ${PROBE.RET}))
    (if (i32.load8_u (i32.const ${PROBE.RET})) (then unreachable))
    (i32.load (i32.const ${PROBE.RET + 4})))
  ;; write-via-stream(d, 0) or read-via-stream(d, 0): a handle, or unreachable on an error.
  (func $writer (param $d i32) (result i32)
    (call $write-via-stream (local.get $d) (i64.const 0) (i32.const ${PROBE.RET}))
    (if (i32.load8_u (i32.const ${PROBE.RET})) (then unreachable))
    (i32.load (i32.const ${PROBE.RET + 4})))
  (func $reader (param $d i32) (result i32)
    (call $read-via-stream (local.get $d) (i64.const 0) (i32.const ${PROBE.RET}))
    (if (i32.load8_u (i32.const ${PROBE.RET})) (then unreachable))
    (i32.load (i32.const ${PROBE.RET + 4})))
  ;; Traps unless the result<_, E> at RET is ok.
  (func $ok (if (i32.load8_u (i32.const ${PROBE.RET})) (then unreachable)))
`;

/**
 * The probe's module: `run` dispatches on the case's first byte. Each case's body may use the
 * locals $dir (the preopen's handle, set first), $a, $b, $c and $d (i32), and returns normally
 * for "ok"; a case named by no argument is `err`.
 */
function module(cases: Record<string, string>): Uint8Array {
  const dispatch = Object.entries(cases).map(([name, body]) =>
    `(if (i32.eq (local.get $case) (i32.const ${name.charCodeAt(0)})) (then ${body} (return (i32.const 0))))`).join('\n');
  return watBytes(`(module ${PRELUDE}
  (func (export "wasi:cli/run@0.2.3#run") (result i32)
    (local $case i32) (local $dir i32) (local $a i32) (local $b i32) (local $c i32) (local $d i32)
    (local.set $case (call $case))
    (local.set $dir (call $preopen))
    ${dispatch}
    (i32.const 1)))`);
}

/** The probe as a component (jco embeds the WIT and makes it), loaded through the glue cache at `cacheDir`. */
export async function probeComponent(cases: Record<string, string>, cacheDir: string): Promise<Component> {
  for (const name of Object.keys(cases)) if (name.length !== 1) throw new Error(`a case is named by one character, not ${name}`);
  const jco = await loadJco();
  const embedded = await jco.componentEmbed({ binary: module(cases), witSource: WIT, world: 'probe' });
  return loadComponent(await jco.componentNew(embedded, []), { cacheDir });
}
