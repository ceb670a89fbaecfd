// Handles and lists a component passes that the canonical ABI traps on (CanonicalABI.md:
// lift_borrow and lift_own trap on an index that is no live handle of the type, resource.drop
// too; load_list_from_valid_range traps on a list that runs past the end of memory), made by a
// component through jco's real glue (test/helpers/component_probe.ts): each ends the guest with
// a trap, a WebAssembly.RuntimeError, and the host acts on nothing (the files the guest could
// reach and its stdout are unchanged). The same calls on live handles and lists inside memory
// work (the controls), so a trap is the handle's or the list's doing.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LIST_PARAMS } from '../host/component/list_bounds.js';
import type { Component } from '../host/component/load.js';
import { Sandbox } from '../host/index.js';
import { wasi2Imports } from '../host/wasi2/imports.js';
import { MAX_POLLABLES } from '../host/wasi2/poll.js';
import { PROBE, probeComponent } from './helpers/component_probe.js';
import { tempDir } from './helpers/guest.js';
import { wasi2Host } from './helpers/component_caller.js';

const work = tempDir('wzc-comp-handles-');
const cache = join(work, 'cache');
const dir = join(work, 'dir');
const FILES = { f: 'fff', g: 'ggg', h: 'hhh' };

const RET = PROBE.RET;
const open = (name: 'F' | 'G' | 'H') => `(call $open (local.get $dir) (i32.const ${PROBE[name]}))`;
const write = (d: string, ptr: number, len: number) => `(call $write ${d} (i32.const ${ptr}) (i32.const ${len}) (i64.const 0) (i32.const ${RET}))`;
const blockingWrite = (s: string, ptr: number, len: number) => `(call $blocking-write-and-flush ${s} (i32.const ${ptr}) (i32.const ${len}) (i32.const ${RET}))`;
const sendfile = (d: string, s: string) => `(call $sendfile ${d} (i64.const 0) ${s} (i64.const 3) (i32.const ${RET}))`;
const MADE_UP = '(i32.const 77)';
const A = '(local.get $a)';
const dropped = `(local.set $a ${open('F')}) (call $drop-descriptor ${A})`;
const droppedStream = `(local.set $a (call $writer ${open('F')})) (call $drop-output-stream ${A})`;

/** The controls: the calls of the cases below on live handles and on lists inside memory. */
const CONTROLS: [string, string, string, Partial<typeof FILES>][] = [
  ['0', 'descriptor.write on a live descriptor', `(local.set $a ${open('F')}) ${write(A, PROBE.ABC, 3)} (call $ok)`, { f: 'abc' }],
  ['1', 'blocking-write-and-flush on a live stream', `(local.set $a (call $writer ${open('F')})) ${blockingWrite(A, PROBE.ABC, 3)} (call $ok)`, { f: 'abc' }],
  ['2', 'descriptor.write of a list ending at the end of memory', `(local.set $a ${open('F')}) ${write(A, PROBE.END, 3)} (call $ok)`, { f: 'end' }],
  ['3', 'zerocopy.sendfile (lowered by the host) on live handles',
    `(local.set $a ${open('F')}) (local.set $b (call $writer ${open('G')})) ${sendfile(A, '(local.get $b)')} (call $ok)`, { g: 'fff' }],
];

/** Handles that are no live handle of their type: [case, what, body, the trap's message]. */
const HANDLES: [string, string, string, RegExp][] = [
  ['a', 'descriptor.write on a dropped descriptor', `${dropped} ${write(A, PROBE.ABC, 3)}`, /invalid descriptor handle/],
  ['d', 'descriptor.stat on a dropped descriptor', `${dropped} (call $stat ${A} (i32.const ${RET}))`, /invalid descriptor handle/],
  ['e', 'descriptor.read-via-stream on a dropped descriptor', `${dropped} (call $read-via-stream ${A} (i64.const 0) (i32.const ${RET}))`, /invalid descriptor handle/],
  ['p', 'dropping a descriptor twice', `${dropped} (call $drop-descriptor ${A})`, /Invalid handle/],
  // f and g are dropped (f first), a stream takes a rep, h is opened (into g's slot): with reps
  // given again at once, f's handle named h here and the write went to h.
  ['b', 'descriptor.write on a dropped descriptor after the host gave out more resources',
    `(local.set $a ${open('F')}) (local.set $b ${open('G')}) (call $drop-descriptor ${A}) (call $drop-descriptor (local.get $b))
     (drop (call $get-stdout)) (local.set $c ${open('H')}) ${write(A, PROBE.ABC, 3)}`, /invalid descriptor handle/],
  ['c', 'descriptor.write on a made-up handle', write(MADE_UP, PROBE.ABC, 3), /invalid descriptor handle/],
  ['i', 'descriptor.stat on a made-up handle', `(call $stat ${MADE_UP} (i32.const ${RET}))`, /invalid descriptor handle/],
  ['j', 'descriptor.read-via-stream on a made-up handle', `(call $read-via-stream ${MADE_UP} (i64.const 0) (i32.const ${RET}))`, /invalid descriptor handle/],
  ['k', 'blocking-write-and-flush on a dropped stream', `${droppedStream} ${blockingWrite(A, PROBE.ABC, 3)}`, /invalid output-stream handle/],
  ['l', 'blocking-write-and-flush on a made-up stream', blockingWrite(MADE_UP, PROBE.ABC, 3), /invalid output-stream handle/],
  ['m', 'zerocopy.splice from a made-up input stream', `(local.set $a (call $writer ${open('F')}))
     (call $splice ${MADE_UP} ${A} (i64.const 3) (i32.const ${RET}))`, /invalid input-stream handle/],
  ['n', 'poll of a made-up pollable', `(i32.store (i32.const 0x300) ${MADE_UP}) (call $poll (i32.const 0x300) (i32.const 1) (i32.const ${RET}))`,
    /invalid pollable handle/],
  ['q', 'pollable.block on a made-up pollable', `(call $block ${MADE_UP})`, /invalid pollable handle/],
  ['o', 'filesystem-error-code of a made-up error', `(call $filesystem-error-code ${MADE_UP} (i32.const ${RET}))`, /invalid error handle/],
  ['w', 'zerocopy.sendfile (lowered) on a made-up descriptor', `(local.set $b (call $writer ${open('G')})) ${sendfile(MADE_UP, '(local.get $b)')}`,
    /invalid descriptor handle 77/],
  // Input-stream handles 1 to 4; descriptors 1 (the preopen) to 3: 4 is an input stream's only.
  ['r', 'zerocopy.sendfile (lowered) given an input stream\'s handle as its descriptor',
    `(local.set $a ${open('F')}) (local.set $b (call $writer ${open('G')}))
     (drop (call $reader ${A})) (drop (call $reader ${A})) (drop (call $reader ${A})) (local.set $c (call $reader ${A}))
     ${sendfile('(local.get $c)', '(local.get $b)')}`, /invalid descriptor handle 4/],
];

/** Lists that do not lie inside memory, or are longer than the host takes: [case, what, body, the trap's message]. */
const PAST = /runs past the end of memory/;
const LISTS: [string, string, string, RegExp][] = [
  ['s', 'descriptor.write of 3 bytes from 2 before the end of memory', `(local.set $a ${open('F')}) ${write(A, PROBE.MEMORY - 2, 3)}`, PAST],
  ['t', 'blocking-write-and-flush of 3 bytes from 2 before the end of memory',
    `(local.set $a (call $writer ${open('F')})) ${blockingWrite(A, PROBE.MEMORY - 2, 3)}`, PAST],
  ['u', 'output-stream.write of 3 bytes from 2 before the end of memory',
    `(local.set $a (call $writer ${open('F')})) (call $stream-write ${A} (i32.const ${PROBE.MEMORY - 2}) (i32.const 3) (i32.const ${RET}))`, PAST],
  ['v', 'descriptor.write from 2^32 - 2 (a negative i32 to JavaScript)', `(local.set $a ${open('F')}) ${write(A, -2, 2)}`, PAST],
  ['x', 'poll of 2 pollables from 4 before the end of memory (the first a live one)',
    `(i32.store (i32.const ${PROBE.MEMORY - 4}) (call $subscribe (call $get-stdout)))
     (call $poll (i32.const ${PROBE.MEMORY - 4}) (i32.const 2) (i32.const ${RET}))`, PAST],
  // poll.ts traps on it too, but only after the glue has made every element: the check of the
  // list's length comes first (its message says so).
  ['y', `poll of ${MAX_POLLABLES + 1} pollables (inside memory, more than the host takes) before the glue reads them`,
    `(call $poll (i32.const 0) (i32.const ${MAX_POLLABLES + 1}) (i32.const ${RET}))`, new RegExp(`a list of ${MAX_POLLABLES + 1} elements`)],
];

let component: Component;

/** Runs case `name` on fresh files f, g and h; how it ended, the files and the guest's stdout. */
function run(name: string): { outcome: string; files: Record<string, string>; stdout: string } {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  for (const [f, text] of Object.entries(FILES)) writeFileSync(join(dir, f), text);
  const stdout = join(work, 'stdout');
  const out = openSync(stdout, 'w+');
  let outcome: string;
  try {
    const sandbox = new Sandbox({ args: ['probe', name], preopens: { '/': dir }, stdin: null, stdout: out, stderr: null });
    try {
      outcome = `exit ${sandbox.startComponent(component)}`;
    } catch (e) {
      outcome = e instanceof WebAssembly.RuntimeError ? `trap: ${e.message}` : `${(e as Error).constructor.name}: ${(e as Error).message}`;
    } finally {
      sandbox.close();
    }
  } finally {
    closeSync(out);
  }
  const files = Object.fromEntries(Object.keys(FILES).map((f) => [f, readFileSync(join(dir, f), 'latin1')]));
  return { outcome, files, stdout: readFileSync(stdout, 'latin1') };
}

/** Case `name` trapped with a message matching `message`, and changed no file and wrote nothing. */
function assertTrapped(name: string, message: RegExp): void {
  const r = run(name);
  assert.match(r.outcome, /^trap: /, `it ended ${r.outcome}`);
  assert.match(r.outcome, message);
  assert.equal(r.files, FILES, 'no file changed');
  assert.is(r.stdout, '', 'nothing written to stdout');
}

const probe = suite('a component\'s calls through the glue', { timeout: 120_000 });

probe.before(async () => {
  component = await probeComponent(Object.fromEntries([...CONTROLS, ...HANDLES, ...LISTS].map(([name, , body]) => [name, body])), cache);
});

for (const [name, what, , changed] of CONTROLS) {
  probe(`${what} works (a control)`, () => {
    assert.equal(run(name), { outcome: 'exit 0', files: { ...FILES, ...changed }, stdout: '' });
  });
}

// ---------------------------------------------------------------------------------------
for (const [name, what, , message] of HANDLES) {
  probe(`${what} traps, and acts on nothing`, () => assertTrapped(name, message));
}

// ---------------------------------------------------------------------------------------
for (const [name, what, , message] of LISTS) {
  probe(`${what} traps, and acts on nothing`, () => assertTrapped(name, message));
}

probe.after(() => rmSync(work, { recursive: true, force: true }));
probe.run();

// ---------------------------------------------------------------------------------------
const table = suite('the lists the host checks');

table('each is a function of an interface the host implements, and the probe calls each past the end of memory', () => {
  const tmp = tempDir('wzc-comp-lists-');
  writeFileSync(join(tmp, 'f'), '');
  const h = wasi2Host(tmp);
  try {
    const imports = wasi2Imports(h.ctx) as Record<string, Record<string, any>>;
    const camel = (s: string) => s.replace(/-(.)/g, (_, c: string) => c.toUpperCase());
    for (const [iface, fns] of Object.entries(LIST_PARAMS)) {
      for (const name of Object.keys(fns)) {
        const method = /^\[method\]([a-z-]+)\.([a-z-]+)$/.exec(name);
        const fn = method === null ? imports[iface]?.[camel(name)]
          : imports[iface]?.[camel(`-${method[1]}`)]?.prototype?.[camel(method[2])];
        assert.type(fn, 'function', `${iface} ${name}`);
        const wat = method === null ? `$${name}` : { write: '$stream-write', 'blocking-write-and-flush': '$blocking-write-and-flush' }[method[2]]
          ?? `$${method[2]}`;
        assert.ok(LISTS.some(([, , body, message]) => message === PAST && body.includes(`(call ${wat} `)), `no case calls ${name} past the end`);
      }
    }
  } finally {
    h.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});

table.run();
