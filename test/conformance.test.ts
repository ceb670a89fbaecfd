// The zerocopy ABI, table-driven and differential: each case is a small script run inside the
// sandbox by an AssemblyScript guest (assembly/guests/zc_script.ts) and natively by the host
// through FFI (test/helpers/native_script.ts). Both must print the same lines; each case also
// states what the man page says, so a mistake shared by both sides still fails.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GUESTS, openFds, runGuest, tempDir } from './helpers/guest.js';
import { runNative } from './helpers/native_script.js';

const GUEST = join(GUESTS, 'zc_script.wasm');
const SRC = '0123456789abcdefghij';
const FILES = ['open in src.txt r', 'open out out.txt w'];

interface Case { name: string; script: string[]; expect: (string | RegExp)[] }

// WASI errno numbers: again 6, badf 8, inval 28, spipe 70.
const cases: Case[] = [
  { name: 'sendfile with an offset reads from *offset, advances it, and leaves the file position',
    script: [...FILES, 'sendfile out in 5 4', 'pos in', 'readfile out.txt'],
    expect: ['sendfile errno=0 n=4 off=9', 'pos in=0', 'file out.txt=35363738'] },
  { name: 'sendfile without an offset uses and advances the file position',
    script: [...FILES, 'seek in 3', 'sendfile out in - 4', 'pos in', 'readfile out.txt'],
    expect: ['sendfile errno=0 n=4 off=-', 'pos in=7', 'file out.txt=33343536'] },
  { name: 'sendfile of zero bytes returns zero',
    script: [...FILES, 'sendfile out in 0 0', 'sendfile out in - 0'],
    expect: ['sendfile errno=0 n=0 off=0', 'sendfile errno=0 n=0 off=-'] },
  { name: 'sendfile near the end of file returns a short count',
    script: [...FILES, 'sendfile out in 15 100', 'readfile out.txt'],
    expect: ['sendfile errno=0 n=5 off=20', 'file out.txt=666768696a'] },
  { name: 'sendfile at and past end of file returns zero',
    script: [...FILES, 'sendfile out in 20 100', 'sendfile out in 999 100', 'seek in 20', 'sendfile out in - 100'],
    expect: ['sendfile errno=0 n=0 off=20', 'sendfile errno=0 n=0 off=999', 'sendfile errno=0 n=0 off=-'] },
  { name: 'sendfile with a negative offset is inval and moves nothing',
    script: [...FILES, 'sendfile out in -1 4', 'pos out'],
    expect: ['sendfile errno=28 n=0 off=-1', 'pos out=0'] },
  { name: 'sendfile from a descriptor opened write-only is badf',
    script: ['open in src.txt wo', 'open out out.txt w', 'sendfile out in 0 4'],
    expect: ['sendfile errno=8 n=0 off=0'] },
  { name: 'sendfile to a descriptor opened read-only is badf',
    script: ['open in src.txt r', 'open out src.txt r', 'sendfile out in 0 4'],
    expect: ['sendfile errno=8 n=0 off=0'] },
  { name: 'sendfile on a descriptor that is not held is badf',
    script: [...FILES, 'sendfile out nothing 0 4', 'sendfile nothing in 0 4'],
    expect: ['sendfile errno=8 n=0 off=0', 'sendfile errno=8 n=0 off=0'] },
  { name: 'sendfile into a full non-blocking pipe is again and leaves *offset',
    script: ['open in src.txt r', 'pipe p 4', 'fill p.w', 'sendfile p.w in 0 10'],
    expect: ['pipe errno=0', 'sendfile errno=6 n=0 off=0'] },
  { name: 'sendfile into a pipe delivers the bytes',
    script: ['open in src.txt r', 'pipe p 0', 'sendfile p.w in 6 8', 'readpipe p.r 8'],
    expect: ['sendfile errno=0 n=8 off=14', 'read p.r=3637383961626364'] },
  { name: 'pipe rejects an unknown flag with inval',
    script: ['pipe p 1'], expect: ['pipe errno=28'] },
  { name: 'splice from a file at an offset into a pipe leaves the file position',
    script: ['open in src.txt r', 'pipe p 0', 'splice in 2 p.w - 5 0', 'pos in', 'readpipe p.r 5'],
    expect: ['splice errno=0 n=5 off=7 off_out=-', 'pos in=0', 'read p.r=3233343536'] },
  { name: 'splice from a pipe into a file advances the file position',
    script: [...FILES, 'pipe p 0', 'write p.w XYZ', 'splice p.r - out - 3 0', 'pos out', 'readfile out.txt'],
    expect: ['splice errno=0 n=3 off=- off_out=-', 'pos out=3', 'file out.txt=58595a'] },
  { name: 'splice with an offset on a pipe is spipe',
    script: [...FILES, 'pipe p 0', 'write p.w XYZ', 'splice p.r 0 out - 3 0', 'splice in - p.w 0 3 0'],
    expect: ['splice errno=70 n=0 off=0 off_out=-', 'splice errno=70 n=0 off=- off_out=0'] },
  { name: 'splice between two files is inval',
    script: [...FILES, 'splice in - out - 3 0'], expect: ['splice errno=28 n=0 off=- off_out=-'] },
  { name: 'splice with an unknown flag is inval',
    script: [...FILES, 'pipe p 0', 'write p.w XYZ', 'splice p.r - out - 3 256'],
    expect: ['splice errno=28 n=0 off=- off_out=-'] },
  { name: 'splice from an empty pipe with SPLICE_F_NONBLOCK is again',
    script: [...FILES, 'pipe p 0', 'splice p.r - out - 3 2'], expect: ['splice errno=6 n=0 off=- off_out=-'] },
  { name: 'splice into a full pipe with SPLICE_F_NONBLOCK is again',
    script: ['open in src.txt r', 'pipe p 4', 'fill p.w', 'splice in 0 p.w - 10 2'],
    expect: ['splice errno=6 n=0 off=0 off_out=-'] },
  { name: 'splice from a pipe whose writer is closed returns zero',
    script: [...FILES, 'pipe p 0', 'close p.w', 'splice p.r - out - 3 0'],
    expect: ['splice errno=0 n=0 off=- off_out=-'] },
  { name: 'tee duplicates pipe data and leaves its source intact',
    script: ['pipe p 0', 'pipe q 0', 'write p.w hello', 'tee p.r q.w 100 0', 'readpipe q.r 5', 'readpipe p.r 5'],
    expect: ['tee errno=0 n=5 off=-', 'read q.r=68656c6c6f', 'read p.r=68656c6c6f'] },
  { name: 'tee from a file is inval',
    script: ['open in src.txt r', 'pipe q 0', 'tee in q.w 5 0'], expect: ['tee errno=28 n=0 off=-'] },
  { name: 'tee from an empty pipe with SPLICE_F_NONBLOCK is again',
    script: ['pipe p 0', 'pipe q 0', 'tee p.r q.w 5 2'], expect: ['tee errno=6 n=0 off=-'] },
  { name: 'copy_file_range with offsets advances both and leaves both file positions',
    script: ['open in src.txt r', 'open c copy.txt rw', 'copy_file_range in 3 c 2 5 0', 'pos in', 'pos c', 'readfile copy.txt'],
    expect: ['copy_file_range errno=0 n=5 off=8 off_out=7', 'pos in=0', 'pos c=0', 'file copy.txt=00003334353637'] },
  { name: 'copy_file_range without offsets uses and advances both file positions',
    script: ['open in src.txt r', 'open c copy.txt rw', 'seek in 4', 'copy_file_range in - c - 6 0', 'pos in', 'pos c'],
    expect: ['copy_file_range errno=0 n=6 off=- off_out=-', 'pos in=10', 'pos c=6'] },
  { name: 'copy_file_range near the end of file returns a short count',
    script: ['open in src.txt r', 'open c copy.txt rw', 'copy_file_range in 18 c - 10 0'],
    expect: ['copy_file_range errno=0 n=2 off=20 off_out=-'] },
  { name: 'copy_file_range with flags other than zero is inval',
    script: ['open in src.txt r', 'open c copy.txt rw', 'copy_file_range in 0 c - 5 1'],
    expect: ['copy_file_range errno=28 n=0 off=0 off_out=-'] },
  { name: 'copy_file_range from a pipe is inval',
    script: ['open c copy.txt rw', 'pipe p 0', 'write p.w abc', 'copy_file_range p.r - c - 3 0'],
    expect: ['copy_file_range errno=28 n=0 off=- off_out=-'] },
];

const differential = suite('zerocopy scripts: the sandbox against the host calling Linux directly');
let before: string[] = [];
// Taken when this suite starts, not when the file loads: the runner loads every file first.
differential.before(() => { before = openFds(); });

for (const c of cases) {
  differential(c.name, () => {
    const guestDir = tempDir('wzc-g-');
    const nativeDir = tempDir('wzc-n-');
    try {
      writeFileSync(join(guestDir, 'src.txt'), SRC);
      writeFileSync(join(nativeDir, 'src.txt'), SRC);
      const g = runGuest(GUEST, { args: [GUEST, ...c.script], preopens: { '/': guestDir } });
      assert.is(g.status, 0, `guest exited ${g.status}: ${g.stdout}${g.stderr}`);
      const native = runNative(nativeDir, c.script);
      assert.fixture(g.stdout.trimEnd(), native, 'the sandbox and native Linux disagree');
      const lines = native.split('\n');
      for (const e of c.expect) {
        assert.ok(lines.some((l) => (typeof e === 'string' ? l === e : e.test(l))),
          `the man page's expectation "${e}" does not hold:\n${native}`);
      }
    } finally {
      rmSync(guestDir, { recursive: true, force: true });
      rmSync(nativeDir, { recursive: true, force: true });
    }
  });
}

differential('no host descriptor is left open after the cases', () => {
  assert.equal(openFds(), before);
});

differential.run();
