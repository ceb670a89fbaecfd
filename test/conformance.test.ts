// The zerocopy ABI v1, differentially: assembly/guests/conformance.ts runs every case in the
// sandbox through the AssemblyScript SDK, test/helpers/native.ts runs the same cases on real
// host descriptors; each case must print the same line on both sides. Each case also states
// what its man page (or docs/ABI.md) says, checked on its own, so that a mistake shared by
// both sides still fails. The sandbox's own answers (fault, notcapable, a descriptor not
// held) are checked against the spec's lines in SPEC_ONLY.
import { suite } from './helpers/suite.js';
import * as assert from 'uvu/assert';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GUESTS, openFds, runGuest, tempDir } from './helpers/guest.js';
import { digest, runNative, SPEC_ONLY, writeFixtures } from './helpers/native.js';

const GUEST = join(GUESTS, 'conformance.wasm');
const SEPARATOR = '--- sandbox only';
const hex = (s: string) => Buffer.from(s).toString('hex');

type Fields = Record<string, string>;
/**
 * A man-page expectation: some fields' exact values, and optionally a check of the whole.
 * `unheld` names the right the guest's descriptor lacks where the native one lacks the access
 * mode (WASI opens a file with the access its rights allow): there the sandbox answers
 * `notcapable` where Linux answers EBADF, and the rest of the line is the same (docs/ABI.md).
 */
interface Case { id: string; name: string; expect: Fields; check?: (f: Fields) => string | null; unheld?: 'fd_read' | 'fd_write' }

// The first 100000 bytes of big.bin, to check what the SDK's loops delivered.
let big = new Uint8Array(0);

const cases: Case[] = [
  // sendfile(2): "If offset is not NULL ... sendfile() does not modify the file offset of in_fd;
  // otherwise the file offset is adjusted to reflect the number of bytes read from in_fd."
  { id: 'sendfile-offset', name: 'sendfile with an offset reads from *offset, advances it, and leaves the file position',
    expect: { ret: '4', off: '9', pos_in: '0', pos_out: '4', data: hex('5678') } },
  { id: 'sendfile-position', name: 'sendfile without an offset uses and advances the file position',
    expect: { ret: '4', off: '-', pos_in: '7', data: hex('3456') } },
  { id: 'sendfile-zero-offset', name: 'sendfile of zero bytes at an offset returns zero and leaves *offset',
    expect: { ret: '0', errno: 'success', off: '5', data: 'empty' } },
  { id: 'sendfile-zero-position', name: 'sendfile of zero bytes from the file position returns zero and leaves it',
    expect: { ret: '0', errno: 'success', pos_in: '3', data: 'empty' } },
  { id: 'sendfile-short', name: 'sendfile near the end of file returns a short count and advances *offset by it',
    expect: { ret: '5', off: '20', data: hex('fghij') } },
  { id: 'sendfile-short-position', name: 'sendfile near the end of file from the position returns a short count',
    expect: { ret: '5', pos_in: '20', data: hex('fghij') } },
  { id: 'sendfile-eof', name: 'sendfile at end of file returns zero', expect: { ret: '0', errno: 'success', off: '20', data: 'empty' } },
  { id: 'sendfile-past-eof', name: 'sendfile past end of file returns zero and leaves *offset',
    expect: { ret: '0', errno: 'success', off: '999', data: 'empty' } },
  { id: 'sendfile-eof-position', name: 'sendfile with the file position at end of file returns zero',
    expect: { ret: '0', errno: 'success', pos_in: '20', data: 'empty' } },
  // docs/ABI.md: "A negative *offset is inval".
  { id: 'sendfile-negative-offset', name: 'sendfile with a negative offset is inval and moves nothing',
    expect: { ret: '-1', errno: 'inval', off: '-1', pos_out: '0', data: 'empty' } },
  // read(2) NOTES: "On Linux, read() (and similar system calls) will transfer at most 0x7ffff000
  // bytes"; the ABI's i64 count reaches the kernel as the same 64 bits of size_t.
  { id: 'sendfile-huge-count', name: 'sendfile of 2^62 bytes is clamped by the kernel and returns what the file holds',
    expect: { ret: '18', off: '20', data: hex('23456789abcdefghij') } },
  // sendfile(2) EINVAL: "... or count is negative."
  { id: 'sendfile-negative-count', name: 'sendfile of a count of 2^63 or more is inval and moves nothing',
    expect: { ret: '-1', errno: 'inval', off: '2', data: 'empty' } },
  // sendfile(2) EINVAL: "out_fd has the O_APPEND flag set. This is not currently supported by sendfile()."
  { id: 'sendfile-append-destination', name: 'sendfile to a file opened for appending is inval',
    expect: { ret: '-1', errno: 'inval', pos_in: '0', data: 'empty' } },
  // write(2) EPIPE: "fd is connected to a pipe ... whose reading end is closed."
  { id: 'sendfile-to-closed-pipe', name: 'sendfile into a pipe whose read end is closed is pipe and reads nothing',
    expect: { ret: '-1', errno: 'pipe', pos_in: '0' } },
  // sendfile(2) EBADF: "Input file was not opened for reading or output file was not opened for writing."
  // In the sandbox a file opened write-only holds no fd_read: notcapable at the same point.
  { id: 'sendfile-write-only-source', name: 'sendfile from a file opened write-only is badf (notcapable in the sandbox)',
    expect: { ret: '-1', errno: 'notcapable', off: '0', data: 'empty' }, unheld: 'fd_read' },
  { id: 'sendfile-read-only-destination', name: 'sendfile to a file opened read-only is badf (notcapable in the sandbox) and leaves the file',
    expect: { ret: '-1', errno: 'notcapable', pos_in: '0', data: hex('readonly') }, unheld: 'fd_write' },
  { id: 'sendfile-to-pipe', name: 'sendfile into a pipe delivers the bytes from *offset',
    expect: { ret: '8', off: '14', pos_in: '0', data: hex('6789abcd') } },
  // sendfile(2) EAGAIN: "Nonblocking I/O has been selected using O_NONBLOCK and the write would block."
  { id: 'sendfile-full-pipe', name: 'sendfile into a full non-blocking pipe is again and leaves *offset',
    expect: { ret: '-1', errno: 'again', off: '0', pos_in: '0' } },
  { id: 'sendfile-full-pipe-position', name: 'sendfile into a full non-blocking pipe is again and leaves the file position',
    expect: { ret: '-1', errno: 'again', pos_in: '0' } },

  // splice(2): off_in / off_out follow sendfile's rules on the file side.
  { id: 'splice-file-offset-to-pipe', name: 'splice from a file at an offset into a pipe advances *off_in and leaves the position',
    expect: { ret: '5', off: '7', pos_in: '0', data: hex('23456') } },
  { id: 'splice-file-position-to-pipe', name: 'splice from a file position into a pipe advances the position',
    expect: { ret: '5', pos_in: '9', data: hex('45678') } },
  { id: 'splice-pipe-to-file', name: 'splice from a pipe into a file moves the bytes out of the pipe',
    expect: { ret: '3', pos_out: '3', data: hex('XYZ'), rest: 'empty' } },
  { id: 'splice-pipe-to-file-offset', name: 'splice into a file at an offset advances *off_out and leaves the position',
    expect: { ret: '3', off_out: '5', pos_out: '0', data: `0000${hex('XYZ')}`, rest: 'empty' } },
  { id: 'splice-short', name: 'splice asked for more than the pipe holds returns a short count',
    expect: { ret: '3', data: hex('XYZ') } },
  { id: 'splice-zero', name: 'splice of zero bytes returns zero and consumes nothing',
    expect: { ret: '0', errno: 'success', data: 'empty', rest: hex('XYZ') } },
  // splice(2): "A return value of 0 means end of input ... no writers connected to the write end".
  { id: 'splice-eof', name: 'splice from a pipe whose writer is closed returns zero', expect: { ret: '0', errno: 'success' } },
  { id: 'splice-file-eof', name: 'splice from a file at end of file returns zero', expect: { ret: '0', errno: 'success', off: '20', data: 'empty' } },
  // splice(2) ESPIPE: "Either off_in or off_out was not NULL, but the corresponding file descriptor refers to a pipe."
  { id: 'splice-offset-on-input-pipe', name: 'splice with an offset on the input pipe is spipe and consumes nothing',
    expect: { ret: '-1', errno: 'spipe', off: '0', data: 'empty', rest: hex('XYZ') } },
  { id: 'splice-offset-on-output-pipe', name: 'splice with an offset on the output pipe is spipe',
    expect: { ret: '-1', errno: 'spipe', off_out: '0', pos_in: '0', data: 'empty' } },
  // splice(2) EINVAL: "Neither of the file descriptors refers to a pipe."
  { id: 'splice-two-files', name: 'splice between two files is inval', expect: { ret: '-1', errno: 'inval', pos_in: '0', data: 'empty' } },
  { id: 'splice-two-pipes', name: 'splice from one pipe into another moves the bytes', expect: { ret: '3', data: hex('XYZ') } },
  // docs/ABI.md: flags are Linux's, "an unknown bit is inval".
  { id: 'splice-unknown-flag', name: 'splice with an unknown flag is inval and consumes nothing',
    expect: { ret: '-1', errno: 'inval', rest: hex('XYZ') } },
  { id: 'splice-negative-offset', name: 'splice from a negative offset is inval',
    expect: { ret: '-1', errno: 'inval', off: '-1', data: 'empty' } },
  { id: 'splice-huge-count', name: 'splice of 2^62 bytes is clamped by the kernel and returns what the file holds',
    expect: { ret: '13', off: '20', pos_in: '0', data: hex('789abcdefghij') } },
  // The man page names no errno for this; Linux's own answer is pinned by the native side.
  { id: 'splice-negative-count', name: 'splice of a count of 2^63 or more fails and moves nothing',
    expect: { ret: '-1', off: '7', data: 'empty' } },
  // splice(2) EBADF: "... or do not have proper read-write mode."
  { id: 'splice-write-only-source', name: 'splice from a file opened write-only is badf (notcapable in the sandbox)',
    expect: { ret: '-1', errno: 'notcapable', data: 'empty' }, unheld: 'fd_read' },
  // splice(2) EAGAIN: "SPLICE_F_NONBLOCK was specified in flags ..., and the operation would block."
  { id: 'splice-empty-pipe-nonblock', name: 'splice from an empty blocking pipe with SPLICE_F_NONBLOCK is again',
    expect: { ret: '-1', errno: 'again' } },
  { id: 'splice-full-pipe-nonblock', name: 'splice into a full blocking pipe with SPLICE_F_NONBLOCK is again and leaves *off_in',
    expect: { ret: '-1', errno: 'again', off: '0', pos_in: '0' } },

  // tee(2): "duplicates up to len bytes of data from the pipe ... does not consume the data".
  { id: 'tee-duplicates', name: 'tee duplicates the pipe data and leaves its source intact',
    expect: { ret: '5', data: hex('hello'), rest: hex('hello') } },
  { id: 'tee-short', name: 'tee of fewer bytes than the pipe holds duplicates only those',
    expect: { ret: '3', data: hex('hel'), rest: hex('hello') } },
  { id: 'tee-zero', name: 'tee of zero bytes returns zero', expect: { ret: '0', errno: 'success', data: 'empty', rest: hex('hello') } },
  { id: 'tee-empty-pipe-nonblock', name: 'tee from an empty pipe with SPLICE_F_NONBLOCK is again', expect: { ret: '-1', errno: 'again' } },
  { id: 'tee-unknown-flag', name: 'tee with an unknown flag is inval', expect: { ret: '-1', errno: 'inval', rest: hex('hello') } },
  // tee(2): "A return value of 0 means that there was no data to transfer ... no writers".
  { id: 'tee-eof', name: 'tee from an empty pipe without writers returns zero', expect: { ret: '0', errno: 'success', data: 'empty' } },
  // tee(2) EINVAL: "fd_in or fd_out does not refer to a pipe; or fd_in and fd_out refer to the same pipe."
  { id: 'tee-file-source', name: 'tee from a file is inval', expect: { ret: '-1', errno: 'inval', data: 'empty' } },
  { id: 'tee-file-destination', name: 'tee into a file is inval and leaves the source',
    expect: { ret: '-1', errno: 'inval', data: 'empty', rest: hex('hello') } },
  { id: 'tee-same-pipe', name: 'tee from a pipe into itself is inval', expect: { ret: '-1', errno: 'inval', rest: hex('hello') } },

  // copy_file_range(2): offsets as sendfile's, on both sides.
  { id: 'copy-offsets', name: 'copy_file_range with offsets advances both and leaves both file positions',
    expect: { ret: '5', off: '8', off_out: '7', pos_in: '0', pos_out: '0', data: `0000${hex('34567')}` } },
  { id: 'copy-positions', name: 'copy_file_range without offsets uses and advances both file positions',
    expect: { ret: '6', pos_in: '10', pos_out: '6', data: hex('456789') } },
  { id: 'copy-input-offset-only', name: 'copy_file_range with only an input offset advances it and the output position',
    expect: { ret: '4', off: '14', pos_in: '2', pos_out: '4', data: hex('abcd') } },
  { id: 'copy-short', name: 'copy_file_range near the end of file returns a short count', expect: { ret: '2', off: '20', data: hex('ij') } },
  // copy_file_range(2): "If the file offset of fd_in is at or past the end of file, no bytes are copied".
  { id: 'copy-eof', name: 'copy_file_range at end of file returns zero', expect: { ret: '0', errno: 'success', off: '20', data: 'empty' } },
  { id: 'copy-zero', name: 'copy_file_range of zero bytes returns zero and leaves both offsets',
    expect: { ret: '0', errno: 'success', off: '3', off_out: '0' } },
  // copy_file_range(2) EINVAL: "The flags argument is not 0."
  { id: 'copy-flags', name: 'copy_file_range with flags other than zero is inval', expect: { ret: '-1', errno: 'inval', data: 'empty' } },
  // The man page names no errno for this; Linux's own answer is pinned by the native side.
  { id: 'copy-negative-offset', name: 'copy_file_range from a negative offset fails and copies nothing',
    expect: { ret: '-1', off: '-1', data: 'empty' } },
  { id: 'copy-huge-count', name: 'copy_file_range of 2^62 bytes returns what the file holds',
    expect: { ret: '8', off: '20', data: hex('cdefghij') } },
  // copy_file_range(2) EOVERFLOW: "The requested source or destination range is too large to
  // represent in the specified data types."
  { id: 'copy-negative-count', name: 'copy_file_range of a count of 2^63 or more is overflow and copies nothing',
    expect: { ret: '-1', errno: 'overflow', off: '12', data: 'empty' } },
  // copy_file_range(2) EINVAL: "fd_in and fd_out refer to the same file and the source and
  // target ranges overlap."
  { id: 'copy-same-file-overlap', name: 'copy_file_range within one file between overlapping ranges is inval',
    expect: { ret: '-1', errno: 'inval', off: '0', off_out: '5', data: hex('0123456789') } },
  // copy_file_range(2) EINVAL: "Either fd_in or fd_out is not a regular file."
  { id: 'copy-pipe-source', name: 'copy_file_range from a pipe is inval', expect: { ret: '-1', errno: 'inval', rest: hex('abc') } },
  // copy_file_range(2) EBADF: "fd_in is not open for reading; or fd_out is not open for writing."
  { id: 'copy-read-only-destination', name: 'copy_file_range into a file opened read-only is badf (notcapable in the sandbox)',
    expect: { ret: '-1', errno: 'notcapable', data: hex('readonly') }, unheld: 'fd_write' },
  { id: 'copy-write-only-source', name: 'copy_file_range from a file opened write-only is badf (notcapable in the sandbox)',
    expect: { ret: '-1', errno: 'notcapable' }, unheld: 'fd_read' },

  // The SDK's loops: until the count or end of file; errors returned, progress in the Offset.
  { id: 'sendall-to-eof', name: 'sendAll of the largest count stops at end of file and returns what was there',
    expect: { ret: '16', off: '20', pos_in: '0', data: hex('456789abcdefghij') } },
  { id: 'sendall-big', name: 'sendAll moves a whole 100000-byte file from the file position',
    expect: { ret: '100000', pos_in: '100000', pos_out: '100000' }, check: (f) => sameBytes(f.data, big) },
  { id: 'sendall-again', name: 'sendAll into a non-blocking pipe returns again with its progress in the Offset',
    expect: { ret: '-1', errno: 'again', pos_in: '0' },
    check: (f) => {
      const n = Number(f.off);
      if (!(n > 0 && n < big.length)) return `off=${f.off} is not a partial transfer`;
      return sameBytes(f.data, big.subarray(0, n));
    } },
  { id: 'spliceall-to-eof', name: 'spliceAll of the largest count moves every write of a pipe until its writer is gone',
    expect: { ret: '11', data: hex('hello world'), rest: 'empty' } },
  { id: 'spliceall-again', name: 'spliceAll with SPLICE_F_NONBLOCK returns again with its progress in the Offset',
    expect: { ret: '-1', errno: 'again', off_out: '6', data: `00${hex('hello')}`, rest: 'empty' } },
];

function sameBytes(data: string, want: Uint8Array): string | null {
  return data === digest(want) ? null : `data=${data}, expected ${digest(want)}`;
}

function fields(line: string): Fields {
  const f: Fields = {};
  for (const part of line.split(' ').slice(1)) {
    const i = part.indexOf('=');
    f[part.slice(0, i)] = part.slice(i + 1);
  }
  return f;
}

const byId = (lines: string[]) => new Map(lines.map((l) => [l.slice(0, l.indexOf(' ')), l] as const));

let guest = new Map<string, string>();
let native = new Map<string, string>();
let guestOnly = new Map<string, string>();
let fdsBefore: string[] | null = null;

/** Runs the guest and the native side once, each in a fresh copy of the fixtures. */
function runBoth(): void {
  if (fdsBefore !== null) return;
  fdsBefore = openFds();
  const guestDir = tempDir('wzc-conf-g-');
  const nativeDir = tempDir('wzc-conf-n-');
  try {
    writeFixtures(guestDir);
    writeFixtures(nativeDir);
    big = readFileSync(join(nativeDir, 'big.bin'));
    const g = runGuest(GUEST, { args: [GUEST], preopens: { '/': guestDir } });
    assert.is(g.status, 0, `the guest exited ${g.status}:\n${g.stdout}${g.stderr}`);
    const lines = g.stdout.trimEnd().split('\n');
    const sep = lines.indexOf(SEPARATOR);
    assert.ok(sep > 0, `no "${SEPARATOR}" line in:\n${g.stdout}`);
    guest = byId(lines.slice(0, sep));
    guestOnly = byId(lines.slice(sep + 1));
    native = byId(runNative(nativeDir));
  } finally {
    rmSync(guestDir, { recursive: true, force: true });
    rmSync(nativeDir, { recursive: true, force: true });
  }
}

const differential = suite('zerocopy through the SDK: the sandbox against the host calling Linux directly');
differential.before(runBoth);

differential('the sandbox and native Linux run the same cases, each one named here', () => {
  assert.equal([...guest.keys()], [...native.keys()]);
  const named = new Set([...cases.map((c) => c.id), 'errno-names']);
  assert.equal([...guest.keys()].filter((id) => !named.has(id)), [], 'cases without a test');
  assert.equal(cases.filter((c) => !guest.has(c.id)).map((c) => c.id), [], 'tests without a case');
});

differential("the SDK's errno constants and names are the host's WASI errno table", () => {
  assert.ok(native.get('errno-names')!.includes(',notcapable,unknown'));
  assert.is(guest.get('errno-names'), native.get('errno-names'));
});

for (const c of cases) {
  differential(c.name, () => {
    const g = guest.get(c.id), n = native.get(c.id);
    assert.ok(g !== undefined && n !== undefined, `no line for ${c.id}`);
    if (c.unheld !== undefined) {
      assert.match(n!, / errno=badf /, `Linux no longer answers EBADF: ${n}`);
      assert.is(g!.replace(' errno=notcapable ', ' errno=badf '), n, 'the sandbox and native Linux disagree');
    } else {
      assert.is(g, n, 'the sandbox and native Linux disagree');
    }
    // The man page, on its own: a bug both sides share still fails here.
    const f = fields(g!);
    for (const [k, v] of Object.entries(c.expect)) assert.is(f[k], v, `${k} in "${g}"`);
    if (c.expect.ret !== '-1' && c.expect.errno === undefined) assert.is(f.errno, 'success', g);
    const problem = c.check?.(f) ?? null;
    assert.is(problem, null, `${problem} in "${g}"`);
  });
}

differential('no host descriptor is left open by either side', () => {
  assert.equal(openFds(), fdsBefore);
});

differential.run();

// ---------------------------------------------------------------------------------------
const sandboxOnly = suite("the sandbox's own answers, against docs/ABI.md");
sandboxOnly.before(runBoth);

const sandboxCases: Record<string, string> = {
  'fault-offset-straddles-end': 'an offset pointer straddling the end of memory is fault and moves nothing',
  'fault-offset-far': 'an offset pointer far past memory is fault and moves nothing',
  'fault-sendfile-result': 'a result pointer past memory is fault, decided before any byte moves',
  'fault-splice-offset': 'a splice offset pointer at the end of memory is fault',
  'fault-splice-result': 'a splice result pointer past memory is fault and leaves the pipe intact',
  'fault-tee-result': 'a tee result pointer past memory is fault and duplicates nothing',
  'fault-copy-result': 'a copy_file_range result pointer past memory is fault and copies nothing',
  'fault-pipe-result': 'a pipe result pointer past memory is fault and creates no descriptor',
  'pipe-unknown-fdflag': 'pipe with an fdflag other than NONBLOCK is inval and creates no descriptor',
  'badf-sendfile-source-not-held': 'sendfile from a descriptor the guest does not hold is badf',
  'badf-sendfile-destination-not-held': 'sendfile to a descriptor the guest does not hold is badf',
  'badf-splice-not-held': 'splice from a descriptor the guest does not hold is badf',
  'badf-tee-not-held': 'tee into a descriptor the guest does not hold is badf',
  'badf-copy-not-held': 'copy_file_range into a descriptor the guest does not hold is badf',
  'notcapable-sendfile-without-read': 'sendfile from a descriptor that gave up fd_read is notcapable',
  'notcapable-sendfile-offset-without-seek': 'sendfile at an offset from a descriptor that gave up fd_seek is notcapable',
  'sendfile-position-without-seek': 'sendfile from the file position of a descriptor without fd_seek still works',
  'notcapable-splice-without-write': 'splice into a descriptor that gave up fd_write is notcapable and consumes nothing',
  'notcapable-tee-without-write': 'tee into a descriptor that gave up fd_write is notcapable',
  'notcapable-copy-without-write': 'copy_file_range into a descriptor that gave up fd_write is notcapable',
};

sandboxOnly('the guest runs exactly the cases the spec table lists, each one named here', () => {
  assert.equal([...guestOnly.keys()].sort(), Object.keys(SPEC_ONLY).sort());
  assert.equal(Object.keys(sandboxCases).sort(), Object.keys(SPEC_ONLY).sort());
});

for (const [id, name] of Object.entries(sandboxCases)) {
  sandboxOnly(name, () => {
    assert.is(guestOnly.get(id), `${id} ${SPEC_ONLY[id]}`);
  });
}
sandboxOnly.run();
